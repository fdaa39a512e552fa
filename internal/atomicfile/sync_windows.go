package atomicfile

// syncDir has nothing to do on Windows: MoveFileEx, which os.Rename uses,
// cannot be followed by a directory sync (directories cannot be opened for
// writing), and NTFS journals the rename itself.
func syncDir(string) error { return nil }
