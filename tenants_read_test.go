// Tests of reading a tenant's secrets from storage and from files.

package webhookverify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/certmagic"
)

func TestTenantSecretLines(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []string
		err  bool
	}{
		{"one", "whsec_abc\n", []string{"whsec_abc"}, false},
		{"rotation, CRLF, blanks, spaces", "\xef\xbb\xbfnew \r\n\r\n  old\r\n", []string{"new", "old"}, false},
		{"inner spaces kept", "It's a Secret to Everybody", []string{"It's a Secret to Everybody"}, false},
		{"empty", "\n \n", nil, false},
		{"too many", strings.Repeat("s\n", MaxTenantSecrets+1), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secretLines([]byte(tt.raw))
			if (err != nil) != tt.err || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("%q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestTenantSecretFile: files are read beneath the directory only; a
// symlink out of it is not followed; a directory, a too large file are
// errors (503), a missing one no secret (401).
func TestTenantSecretFile(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	write := func(path, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(outside, "stolen"), "outside-secret")
	write(filepath.Join(dir, "acme"), "s1\ns2\n")
	write(filepath.Join(dir, "sub", "beta"), "s3")
	write(filepath.Join(dir, "big"), strings.Repeat("x", MaxTenantSecretSize+1))
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "stolen"), filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "escapedir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("acme", filepath.Join(dir, "inside")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rel  string
		want string
		err  error // errNoSecret, or nil with want, or errAny
	}{
		{"acme", "s1\ns2\n", nil},
		{"sub/beta", "s3", nil},
		{"inside", "s1\ns2\n", nil},
		{"nobody", "", errNoSecret},
		{"acme/x", "", errNoSecret},
		{"escape", "", errAny},
		{"escapedir/stolen", "", errAny},
		{"../" + filepath.Base(outside) + "/stolen", "", errAny},
		{"adir", "", errAny},
		{"big", "", errAny},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			b, err := readSecretFile(dir, tt.rel)
			switch {
			case tt.err == nil:
				if err != nil || string(b) != tt.want {
					t.Fatalf("%q, %v; want %q", b, err, tt.want)
				}
			case tt.err == errAny:
				if err == nil || errors.Is(err, errNoSecret) || len(b) > 0 {
					t.Fatalf("%q, %v; want an error other than no secret", b, err)
				}
			default:
				if !errors.Is(err, tt.err) {
					t.Fatalf("%q, %v; want %v", b, err, tt.err)
				}
			}
		})
	}
}

func TestTenantSecretStorage(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx := context.Background()
	if err := st.Store(ctx, "webhook-secrets/acme", []byte("s1\n")); err != nil {
		t.Fatal(err)
	}
	if err := st.Store(ctx, "webhook-secrets/big", make([]byte, MaxTenantSecretSize+1)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(st.Path, "webhook-secrets", "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := loadStorageSecret(ctx, st, "webhook-secrets/acme"); err != nil || string(b) != "s1\n" {
		t.Errorf("acme: %q, %v", b, err)
	}
	if _, err := loadStorageSecret(ctx, st, "webhook-secrets/nobody"); !errors.Is(err, errNoSecret) {
		t.Errorf("nobody: %v, want errNoSecret", err)
	}
	for _, k := range []string{"webhook-secrets/big", "webhook-secrets/adir"} {
		if _, err := loadStorageSecret(ctx, st, k); err == nil || errors.Is(err, errNoSecret) {
			t.Errorf("%s: %v, want an error", k, err)
		}
	}
}
