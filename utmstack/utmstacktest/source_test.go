package utmstacktest

import (
	"os"
	"sync"
	"testing"
)

var (
	srcOnce sync.Once
	srcText string
)

// testSource returns operators_test.go, to check that its table covers
// every operator.
func testSource(t *testing.T) string {
	srcOnce.Do(func() {
		b, err := os.ReadFile("operators_test.go")
		if err != nil {
			t.Fatal(err)
		}
		srcText = string(b)
	})
	return srcText
}
