package launch

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
)

// keepassxcDatabase is an empty KeePass database whose root group is
// exposed to the Secret Service (the per-database setting KeePassXC keeps
// in the database's custom data), as Database Settings would set it.
const keepassxcDatabase = `<?xml version="1.0" encoding="UTF-8"?>
<KeePassFile>
  <Meta>
    <DatabaseName>regcred-test</DatabaseName>
    <CustomData><Item><Key>FDO_SECRETS_EXPOSED_GROUP</Key><Value>{00000000-0000-0000-0000-000000000001}</Value></Item></CustomData>
  </Meta>
  <Root><Group><UUID>AAAAAAAAAAAAAAAAAAAAAQ==</UUID><Name>regcred-test</Name></Group></Root>
</KeePassFile>
`

// keepassxcConfig turns the Secret Service integration on, with nothing
// that would wait for a person: no confirmation, no notification.
const keepassxcConfig = `[General]
ConfigVersion=2
SingleInstance=false
OpenPreviousDatabasesOnStartup=false
[FdoSecrets]
Enabled=true
ConfirmAccessItem=false
ConfirmDeleteItem=false
ShowNotification=false
[GUI]
ShowTrayIcon=false
`

// keepassxcDefaults turns the Secret Service integration on and leaves
// everything else as KeePassXC ships it.
const keepassxcDefaults = `[General]
ConfigVersion=2
SingleInstance=false
OpenPreviousDatabasesOnStartup=false
[FdoSecrets]
Enabled=true
[GUI]
ShowTrayIcon=false
`

// startKeePassXC starts KeePassXC headless (Qt's offscreen platform) on a
// throw-away database, unlocked with UnlockPassword from stdin unless mode
// is Locked.
func (s *Session) startKeePassXC(mode KeyringMode) error {
	dir := filepath.Join(s.Dir, "keepassxc")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	config, kdf, database := keepassxcConfig, []string{"--decryption-time", "100"}, keepassxcDatabase
	if mode == Defaults || mode == NoRecycleBin {
		config, kdf = keepassxcDefaults, []string{"--decryption-time", "1000"} // the new-database default
	}
	if mode == NoRecycleBin {
		database = strings.Replace(database, "<Meta>", "<Meta>\n    <RecycleBinEnabled>False</RecycleBinEnabled>", 1)
	}
	for name, content := range map[string]string{"db.xml": database, "keepassxc.ini": config} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	if err := s.own(); err != nil {
		return err
	}
	db := filepath.Join(dir, "db.kdbx")
	imp := s.command("keepassxc-cli", append(append([]string{"import", "--set-password"}, kdf...), filepath.Join(dir, "db.xml"), db)...)
	imp.Env = s.Env()
	imp.Stdin = strings.NewReader(UnlockPassword + "\n" + UnlockPassword + "\n")
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("keepassxc-cli import: %v\n%s", err, out)
	}
	args := []string{"--config", filepath.Join(dir, "keepassxc.ini"), "--localconfig", filepath.Join(dir, "local.ini"), db}
	if mode != Locked {
		args = append([]string{"--pw-stdin"}, args...)
	}
	s.keyring = s.command("keepassxc", args...)
	s.keyring.Env = append(s.Env(), "QT_QPA_PLATFORM=offscreen")
	if mode == Defaults || mode == NoRecycleBin {
		d, err := startDisplay(s.Dir)
		if err != nil {
			return err
		}
		s.display = d
		s.keyring.Env = append(s.Env(), "DISPLAY="+d.name)
	}
	s.keyring.Stdin = strings.NewReader(UnlockPassword + "\n")
	return s.startLogged("keepassxc.log", mode != Locked)
}

// startLogged starts the provider, its output in the session's log file,
// and waits until its default collection is there.
func (s *Session) startLogged(log string, unlocked bool) error {
	if logf, err := os.Create(filepath.Join(s.Dir, log)); err == nil {
		s.keyring.Stdout, s.keyring.Stderr = logf, logf
		defer logf.Close() // the child keeps its own descriptor
	}
	if err := s.keyring.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.Provider, err)
	}
	return s.waitForCollection(30*time.Second, unlocked)
}

// waitForCollection waits until the default alias names a collection,
// and until it is unlocked if unlocked says so: a provider can own its bus
// name before it has a collection, and KeePassXC shows its collection
// before it has opened the database.
func (s *Session) waitForCollection(limit time.Duration, unlocked bool) error {
	ok, err := s.pollBus(limit, 50*time.Millisecond, func(conn *dbus.Conn) bool {
		var alias dbus.ObjectPath
		err := registeredService(conn).Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&alias)
		if err != nil || alias == "/" {
			return false
		}
		if !unlocked {
			return true
		}
		v, err := conn.Object("org.freedesktop.secrets", alias).GetProperty("org.freedesktop.Secret.Collection.Locked")
		locked, _ := v.Value().(bool)
		return err == nil && !locked
	})
	if err != nil || ok {
		return err
	}
	log, _ := os.ReadFile(filepath.Join(s.Dir, string(s.Provider)+".log"))
	return fmt.Errorf("%s exposed no collection in %v: %s", s.Provider, limit, log)
}

// kwalletConfig enables the wallet without the first-use wizard; its
// Secret Service API is on by default (KDE Frameworks 5.97 and later).
const kwalletConfig = `[Wallet]
Enabled=true
First Use=false
Close When Idle=false
`

// startKWallet starts kwalletd5 headless with its Secret Service API, its
// wallet opened the way pam_kwallet opens it at login (--pam-login): a
// 56-byte key on a pipe, the environment on a socket. Its Secret Service
// knows only the wallets there were when it started, so a first run
// creates the wallet and a second one serves it.
func (s *Session) startKWallet(mode KeyringMode) error {
	if err := os.WriteFile(filepath.Join(s.Dir, ".config", "kwalletrc"), []byte(kwalletConfig), 0o600); err != nil {
		return err
	}
	wallet := filepath.Join(s.Dir, ".local", "share", "kwalletd", "kdewallet.kwl")
	if err := s.pamKWallet(); err != nil {
		return err
	}
	// The first run creates the wallet; it writes the file as it closes.
	if err := s.waitForWallet(30 * time.Second); err != nil {
		return err
	}
	_ = s.keyring.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.keyring.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.keyring.Process.Kill()
		<-done
	}
	s.keyring = nil
	if _, err := os.Stat(wallet); err != nil {
		return fmt.Errorf("kwalletd5 created no wallet: %w", err)
	}
	if mode == Locked { // as before a login that opens it
		s.keyring = s.command("kwalletd5")
		s.keyring.Env = append(s.Env(), "QT_QPA_PLATFORM=offscreen")
		return s.startLogged("kwallet.log", false)
	}
	if err := s.pamKWallet(); err != nil {
		return err
	}
	if err := s.waitForWallet(30 * time.Second); err != nil {
		return err
	}
	// The wallet is open, but its collection says Locked until a client
	// asks Unlock, which it grants with no prompt: regcred's own first
	// call does that, as it must on a KDE login.
	return s.waitForCollection(30*time.Second, false)
}

// waitForWallet waits until kwalletd has opened the wallet with the key
// pam_kwallet handed it: asked before that, an Unlock would show a
// password prompt that nobody here answers.
func (s *Session) waitForWallet(limit time.Duration) error {
	ok, err := s.pollBus(limit, 50*time.Millisecond, func(conn *dbus.Conn) bool {
		var open bool
		err := conn.Object("org.kde.kwalletd5", "/modules/kwalletd5").Call("org.kde.KWallet.isOpen", 0, "kdewallet").Store(&open)
		return err == nil && open
	})
	if err != nil || ok {
		return err
	}
	log, _ := os.ReadFile(filepath.Join(s.Dir, "kwallet.log"))
	return fmt.Errorf("kwalletd5 did not open its wallet in %v: %s", limit, log)
}

// pamKWallet starts kwalletd5 as pam_kwallet would and hands it the
// wallet's key and the session's environment.
func (s *Session) pamKWallet() error {
	keyR, keyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer keyR.Close()
	defer keyW.Close()
	sock := filepath.Join(s.Dir, "run", "kwallet-env")
	os.Remove(sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return err
	}
	defer ln.Close()
	lnFile, err := ln.File()
	if err != nil {
		return err
	}
	defer lnFile.Close()
	s.keyring = s.command("kwalletd5", "--pam-login", "3", "4")
	s.keyring.ExtraFiles = []*os.File{keyR, lnFile}
	s.keyring.Env = append(s.Env(), "QT_QPA_PLATFORM=offscreen", "PAM_KWALLET5_LOGIN=1")
	if logf, err := os.OpenFile(filepath.Join(s.Dir, "kwallet.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
		s.keyring.Stdout, s.keyring.Stderr = logf, logf
		defer logf.Close()
	}
	if err := s.keyring.Start(); err != nil {
		return fmt.Errorf("start kwalletd5: %w", err)
	}
	key := make([]byte, 56) // the wallet's key: any bytes will do for a throw-away wallet
	copy(key, UnlockPassword)
	if _, err := keyW.Write(key); err != nil {
		return fmt.Errorf("kwalletd5's key pipe: %w", err)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return fmt.Errorf("kwalletd5's environment socket: %w", err)
	}
	_, err = conn.Write([]byte(strings.Join(s.Env(), "\n") + "\n"))
	conn.Close()
	return err
}
