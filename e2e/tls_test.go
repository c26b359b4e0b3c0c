//go:build e2e

package e2e

import (
	"testing"

	"github.com/utmstack/utmstack_exporter/internal/testcert"
)

// selfSigned returns a PEM certificate for 127.0.0.1 that is its own CA,
// and its PEM key.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	return testcert.SelfSigned(t, "utmstack_exporter e2e")
}
