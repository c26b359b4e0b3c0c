package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// The configuration file and secret files are read up to a limit: a
// 47 MB file fails at once, with its size and the limit.
func TestFilesOverTheirLimitAreRefused(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "utmstack.yml")
	content := "utmstack: {url: https://h}\n" + strings.Repeat("# padding\n", maxFileBytes/10+1)
	writeFile(t, big, content)
	_, err := Load(big, withKey)
	if want := fmt.Sprintf("reading configuration file: %s is %d bytes, larger than 1048576, the limit", big, len(content)); err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	_, err = Parse([]byte(content), testPath, withKey)
	checkErr(t, err, fmt.Sprintf("%d bytes, larger than 1048576, the limit", len(content)))

	key := filepath.Join(dir, "key")
	writeFile(t, key, strings.Repeat("k", maxSecretFileBytes+1))
	_, err = parse("utmstack: {url: https://h, auth: {api_key_file: "+key+"}}\n", nil)
	checkErr(t, err, `utmstack.auth.api_key_file: cannot read the API key: `+key+` is 4097 bytes, larger than 4096, the limit; `+waysAPIKey)
}

// A file on a hung mount must not stall the load, nor every later reload
// waiting behind it: reading gives up at the load's deadline and says so.
func TestReadingGivesUpAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hung := make(chan struct{})
		start := time.Now()
		err := timely(start.Add(loadTimeout), func() error { <-hung; return nil })
		close(hung)
		if want := "gave up after 10s, the time one load may take to read its files"; err == nil || err.Error() != want {
			t.Errorf("error %v, want %s", err, want)
		}
		if waited := time.Since(start); waited != loadTimeout {
			t.Errorf("gave up after %v, want %v", waited, loadTimeout)
		}
		if err := timely(time.Now().Add(loadTimeout), func() error { return errors.ErrUnsupported }); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("a read that ends: error %v", err)
		}
	})
}

// Counts have limits, each named in its error, and the rest of the file is
// not resolved then: a file of 1.3 million queries fails fast and small.
func TestCountLimits(t *testing.T) {
	items := func(n int, item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+", ", n), ", ") + "]"
	}
	queries := func(n int) string { // distinct names are not needed: no query is resolved
		return items(n, "{name: q}")
	}
	targets := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "  t%d: {url: https://h}\n", i)
		}
		return b.String()
	}
	breakdowns := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "  b%d: {field: f}\n", i)
		}
		return b.String()
	}
	const url = "utmstack: {url: https://h}\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"queries", url + "queries: " + queries(1001) + "\n", `queries: 1001 queries; at most 1000 are accepted`},
		{"target queries", url + "targets:\n  east: {url: https://e, queries: " + queries(1001) + "}\n", `targets.east.queries: 1001 queries; at most 1000 are accepted`},
		{"filters", url + "queries: [{name: a, filters: " + items(101, "{field: f, operator: EXIST}") + "}]\n", `queries[0].filters: 101 filters; at most 100 are accepted`},
		{"breakdowns", url + "breakdowns:\n" + breakdowns(101), `breakdowns: 101 breakdowns; at most 100 are accepted`},
		{"targets", url + "targets:\n" + targets(5001), `targets: 5001 targets; at most 5000 are accepted`},
		// Aliases: 1000 targets that each name a list of 1000 queries.
		{"aliases", url + "x: &q " + queries(1000) + "\ntargets:\n" + strings.ReplaceAll(targets(1000), "}", ", queries: *q}"),
			"more than 500000 values once its aliases are expanded, the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.yaml, withKey)
			checkErr(t, err, tc.want)
		})
	}
}

// Every value a message repeats is cut after a few hundred bytes, marked
// as cut: a 100 KB value does not make a 100 KB error (nor a 50 MB one a
// 50 MB --config.check output).
func TestEchoedValuesAreCut(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	for _, doc := range []string{
		"utmstack: {url: 'https://h/" + long + "'}\n",
		"utmstack: {url: https://h}\nqueries: [{name: X" + long + "}]\n",
		"utmstack: {url: https://h}\nqueries: [{name: a, filters: [{field: f, operator: " + long + "}]}]\n",
		// YAML takes keys longer than 1024 characters only after "? ".
		"utmstack: {url: https://h}\ntargets:\n  ? " + long + "\n  : {url: https://e}\n",
		"utmstack: {url: https://h}\n? " + long + "\n: 1\n",
		"utmstack: {url: https://h}\ndefaults: {window: " + long + "}\n",
		"utmstack: {url: https://h}\nincidents: " + long + "\n",
	} {
		_, err := parse(doc, withKey)
		if err == nil {
			t.Fatalf("no error for %.60s", doc)
		}
		if msg := err.Error(); len(msg) > 2*maxShown+700 || !strings.Contains(msg, " bytes in all)") {
			t.Errorf("%d bytes of error, not cut:\n%.2000s", len(msg), msg)
		}
	}
	cfg, err := parse("utmstack: {url: https://h}\nqueries: [{name: a"+long+"}]\n", withKey)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Summary(); len(s) > 2*maxShown || !strings.Contains(s, "(cut: 100001 bytes in all)") {
		t.Errorf("summary of %d bytes: %.600s", len(s), s)
	}
}

// A password with a line break is refused by the check as at start: the
// client that the start builds refuses it too, so the check cannot say OK
// for a configuration the exporter will not run.
func TestCheckAndStartJudgeSecretsAlike(t *testing.T) {
	for _, secret := range []string{"good-password", "two\nlines", "carriage\rreturn", "ends-in-newline\n", "tab\there"} {
		quoted := fmt.Sprintf("%q", secret)
		_, checkErr := parse("utmstack:\n  url: https://h\n  auth: {username: u, password: "+quoted+"}\n", nil)
		client, startErr := utmstack.New(utmstack.Options{URL: &url.URL{Scheme: "https", Host: "h"}, Credentials: utmstack.Credentials{
			Method: utmstack.AuthPassword, Username: "u", Secret: utmstack.Secret(secret)}})
		if client != nil {
			client.Close()
		}
		if (checkErr == nil) != (startErr == nil) {
			t.Errorf("password %s: the check says %v, the start says %v", quoted, checkErr, startErr)
		}
		if checkErr != nil && !strings.Contains(checkErr.Error(), "utmstack.auth.password: the password from inline password contains a line break") {
			t.Errorf("password %s: %v", quoted, checkErr)
		}
	}
}
