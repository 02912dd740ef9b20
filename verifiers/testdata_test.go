package verifiers

import (
	"os"
	"path/filepath"
)

// mustReadTestdata reads a fixture under testdata at package
// initialisation.
func mustReadTestdata(name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return b
}
