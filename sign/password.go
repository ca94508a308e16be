package sign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// The errors of NewKeyPassword that are the user's to fix.
var (
	ErrNoPassword       = errors.New("set COSIGN_PASSWORD or run on a terminal (the key is always encrypted)")
	ErrPasswordMismatch = errors.New("the passwords do not match")
)

// NewKeyPassword is the password a new key is encrypted with:
// COSIGN_PASSWORD when set (even empty, as cosign), else asked for twice
// on stdin's terminal, without echo, prompting on prompt. Without either
// it is ErrNoPassword: the key is always encrypted, and a CI job must
// never hang on a prompt.
func NewKeyPassword(stdin *os.File, prompt io.Writer) ([]byte, error) {
	if pass, ok := os.LookupEnv("COSIGN_PASSWORD"); ok {
		return []byte(pass), nil
	}
	fd := int(stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, ErrNoPassword
	}
	read := func(msg string) ([]byte, error) {
		fmt.Fprint(prompt, msg)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return nil, fmt.Errorf("reading the password: %w", err)
		}
		return b, nil
	}
	first, err := read("Enter password for private key: ")
	if err != nil {
		return nil, err
	}
	again, err := read("Enter password for private key again: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(first, again) {
		return nil, ErrPasswordMismatch
	}
	return first, nil
}
