package livecheck

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// TestLiveCheckSaysUseTheLoginName: UTMStack v11.0.x accepts the password
// of an e-mail address and then answers 401 "user '...' not found"; the
// check says to configure the login name.
func TestLiveCheckSaysUseTheLoginName(t *testing.T) {
	srv := httptest.NewServer(utmstacktest.New(utmstacktest.Options{Users: map[string]string{testUser: testPassword},
		Emails: map[string]string{testUser: "prometheus@example.com"}}))
	t.Cleanup(srv.Close)
	ok, out := liveCheck(t, srv.URL, "  auth: {username: prometheus@example.com, password: "+testPassword+"}\n")
	for _, want := range []string{"fix: set utmstack.auth.username to the user's login name, not its e-mail address",
		"looks the user up by its login name"} {
		if ok || !strings.Contains(out, want) {
			t.Fatalf("want %q:\n%s", want, out)
		}
	}
}
