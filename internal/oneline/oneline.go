// Package oneline folds error messages onto one line: docker shows only the
// first line of a credential helper's answer, and a person reads one line
// per problem best.
package oneline

import "strings"

// Error returns err's message with every run of white space (newlines
// included) folded into one space.
func Error(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
