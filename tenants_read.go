// Reading a tenant's secrets: from Caddy's storage or from a file under the
// configured directory, bounded, one secret a line.

package webhookverify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
)

// secretReader returns the reader of a tenant's raw value by its expanded
// key, bounded to MaxTenantSecretSize: errNoSecret when there is none.
func secretReader(ctx caddy.Context, from string, tpl keyTemplate) (func(context.Context, string) ([]byte, error), error) {
	if from == SecretFromStorage {
		st := ctx.Storage()
		if st == nil {
			return nil, errors.New("secret_from storage: no storage configured")
		}
		return func(ctx context.Context, key string) ([]byte, error) { return loadStorageSecret(ctx, st, key) }, nil
	}
	n := tpl.dirLen()
	dir, err := filepath.Abs(filepath.FromSlash(tpl.raw[:n]))
	if err != nil {
		return nil, fmt.Errorf("secret_from file: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("secret_from file: %s is not a directory", dir)
	}
	return func(_ context.Context, key string) ([]byte, error) { return readSecretFile(dir, key[n+1:]) }, nil
}

// loadStorageSecret reads key from st. The storage module reads the value
// whole; one larger than MaxTenantSecretSize is refused.
func loadStorageSecret(ctx context.Context, st certmagic.Storage, key string) ([]byte, error) {
	b, err := st.Load(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoSecret
	}
	if err != nil {
		return nil, err
	}
	if len(b) > MaxTenantSecretSize {
		return nil, fmt.Errorf("value larger than %d bytes", MaxTenantSecretSize)
	}
	return b, nil
}

// readSecretFile reads the regular file rel beneath dir, opened in an
// os.Root: no .. and no symlink leads out of dir. A missing file (or a
// path through a file) is errNoSecret.
func readSecretFile(dir, rel string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(rel))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, errNoSecret
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxTenantSecretSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxTenantSecretSize {
		return nil, fmt.Errorf("file larger than %d bytes", MaxTenantSecretSize)
	}
	return b, nil
}

// secretLines splits a tenant's value into its secrets: one a line,
// surrounding white space (and a CR) trimmed, blank lines skipped, a
// leading UTF-8 byte order mark dropped.
func secretLines(raw []byte) ([]string, error) {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	var out []string
	for line := range bytes.SplitSeq(raw, []byte("\n")) {
		if s := strings.TrimSpace(string(line)); s != "" {
			out = append(out, s)
		}
	}
	if len(out) > MaxTenantSecrets {
		return nil, fmt.Errorf("%d secrets, more than %d", len(out), MaxTenantSecrets)
	}
	return out, nil
}
