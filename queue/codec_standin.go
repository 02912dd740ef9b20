package queue

// TEMPORARY stand-in for qbolt's entry codec (queue/entry.go); this file is
// removed (git rm) before merging qbolt. It only exists so that redis.go
// builds before entry.go lands.

import (
	"encoding/json"
	"fmt"
)

// Encode is the stand-in codec.
func Encode(e *Entry) []byte {
	b, _ := json.Marshal(e)
	return b
}

// Decode is the stand-in codec.
func Decode(b []byte) (*Entry, error) {
	e := new(Entry)
	if err := json.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return e, nil
}
