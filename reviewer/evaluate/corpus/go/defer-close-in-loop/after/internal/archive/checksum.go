package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

func checksum(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ChecksumAll returns the SHA-256 of every file; backups hold tens of thousands.
func ChecksumAll(paths []string) (map[string]string, error) {
	sums := make(map[string]string, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		sum, err := checksum(f)
		if err != nil {
			return nil, err
		}
		sums[p] = sum
	}
	return sums, nil
}
