// Package livecheck is --config.check.live: every configured UTMStack asked
// once, as a scrape would, and a report for people of what each answered
// and of every problem found, with its fix.
package livecheck

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/round"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Run asks every configured UTMStack (the top-level one and each target)
// once, as a scrape would, with at most one login each, and writes for
// people what each answered and every problem found, with its fix. It
// reports whether everything answered as expected. It never writes a
// secret: only URLs, user names, counts and UTMStack's own messages (which
// the client scrubs of the credential).
func Run(ctx context.Context, cfg *config.Config, w io.Writer, userAgent string) bool {
	type instance struct {
		key     string
		u       config.UTMStack
		queries []config.Query
	}
	instances := []instance{{"utmstack", cfg.UTMStack, cfg.Queries}}
	for _, name := range slices.Sorted(maps.Keys(cfg.Targets)) {
		t := cfg.Targets[name]
		instances = append(instances, instance{"targets." + name, t.UTMStack, t.Queries})
	}
	reports := make([]*liveReport, len(instances))
	sem := make(chan struct{}, 8) // instances asked at once
	var wg sync.WaitGroup
	for i, in := range instances {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			reports[i] = checkInstance(ctx, in.key, in.u, in.queries, cfg.Incidents, cfg.Coverage, userAgent)
		})
	}
	wg.Wait()
	ok := true
	for _, r := range reports {
		r.write(w)
		ok = ok && len(r.problems) == 0
	}
	return ok
}

// liveReport is what one instance answered.
type liveReport struct {
	key, url    string
	lines       [][2]string // label, text
	queryLines  [][2]string
	problems    []liveProblem
	unsupported bool
}

type liveProblem struct{ what, fix string }

func (r *liveReport) add(label, format string, args ...any) {
	r.lines = append(r.lines, [2]string{label, fmt.Sprintf(format, args...)})
}

func (r *liveReport) problem(fix, format string, args ...any) {
	r.problems = append(r.problems, liveProblem{fmt.Sprintf(format, args...), fix})
}

func (r *liveReport) write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintf(tw, "%s\t%s\n", r.key, r.url)
	for _, l := range r.lines {
		_, _ = fmt.Fprintf(tw, "  %s\t%s\n", l[0], l[1])
	}
	for _, l := range r.queryLines {
		_, _ = fmt.Fprintf(tw, "  query %s\t%s\n", l[0], l[1])
	}
	_ = tw.Flush()
	if len(r.problems) == 0 {
		_, _ = fmt.Fprintf(w, "  no problem found\n\n")
		return
	}
	for _, p := range r.problems {
		_, _ = fmt.Fprintf(w, "  PROBLEM: %s\n    fix: %s\n", p.what, p.fix)
	}
	_, _ = fmt.Fprintln(w)
}

// checkInstance runs one round against u, as a scrape would, and judges it.
func checkInstance(ctx context.Context, key string, u config.UTMStack, queries []config.Query, incidents bool,
	coverage config.Coverage, userAgent string) *liveReport {
	r := &liveReport{key: key, url: u.URL.String()}
	var sent requestCount
	client, err := utmstack.New(u.ClientOptions(utmstack.Options{OneLogin: true, UserAgent: userAgent, LoginTimeout: u.Timeout,
		Hooks: utmstack.Hooks{Request: sent.observe}}))
	var inst *round.Instance
	if err == nil { // the instance asks this client: nothing else can fail
		env := round.Env{NewClient: func(utmstack.Options) (round.Client, error) { return client, nil }}
		inst, err = round.New(env, round.Setup{UTMStack: u, Plans: round.NewPlans(queries), Incidents: incidents, Coverage: coverage})
	}
	if err != nil {
		r.problem("check "+key+".tls_config and "+key+".proxy_url", "cannot build the HTTP client: %v", err)
		return r
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, u.Timeout)
	defer cancel()

	version, verr := client.Version(ctx)
	sent.reset()
	start := time.Now()
	result := inst.Scrape(ctx)
	took := time.Since(start)
	read := inst.Coverage(ctx) // the read the round started runs beside it

	errs := roundErrors(result)
	r.judgeCredentials(key, u, errs)
	switch {
	case r.unsupported:
		r.add("API", "v12 (/api/v1): not spoken by this exporter")
	case verr == nil:
		r.add("version", "%s (API of v10 and v11, under /api)", version)
	default:
		r.add("version", "unknown (/management/info: %v)", verr)
	}
	if u.Auth.Method == utmstack.AuthAPIKey && len(errs) < len(result.Queries) {
		r.add("API keys", "%s", keyExpiries(ctx, client))
	}
	if len(errs) > 0 && len(r.problems) == 0 { // not a credential UTMStack refused
		r.judgeTransport(key, errs[0])
	}
	r.add("round", "%s", sent.describe(result.Calls, took, errs))
	for i, q := range result.Queries {
		r.queryLines = append(r.queryLines, [2]string{q.Name, describeQuery(queries[i], q)})
	}
	if in := result.Incidents; in != nil {
		if in.Err == nil {
			var parts []string
			for i, status := range utmstack.IncidentStatuses {
				parts = append(parts, fmt.Sprintf("%s %d", strings.ToLower(status), in.Counts[i]))
			}
			r.add("incidents", "%s", strings.Join(parts, ", "))
		} else if in.Forbidden() {
			r.problem("give the user ROLE_USER, or set incidents: false", "the user may not read incidents (403 on /api/utm-incidents)")
		}
	}
	r.judgeCoverage(read)
	r.judgeData(ctx, client, queries, result)
	return r
}

func roundErrors(result *round.Result) []error {
	var errs []error
	for _, q := range result.Queries {
		if q.Err != nil {
			errs = append(errs, q.Err)
		}
	}
	if in := result.Incidents; in != nil && in.Err != nil && !in.Forbidden() {
		errs = append(errs, in.Err)
	}
	return errs
}

// judgeCredentials says whether the credential worked, and what to do when
// it did not.
func (r *liveReport) judgeCredentials(key string, u config.UTMStack, errs []error) {
	who := string(u.Auth.Method)
	if u.Auth.Method == utmstack.AuthPassword {
		who = fmt.Sprintf("password of user %s", u.Auth.Username)
	}
	var authErr *utmstack.AuthError
	for _, err := range errs {
		if errors.As(err, &authErr) {
			break
		}
	}
	if authErr != nil && authErr.Reason == utmstack.ReasonError {
		r.add("credentials", "%s: not judged, the login did not get an answer", who)
		return // what stood in the way is judged as transport
	}
	if authErr == nil {
		if len(errs) == 0 {
			r.add("credentials", "%s: accepted", who)
		}
		return
	}
	r.add("credentials", "%s: %s", who, authErr.Reason)
	switch authErr.Reason {
	case utmstack.ReasonBadCredentials:
		if errors.Is(authErr, utmstack.ErrEmailLogin) {
			r.problem("set "+key+".auth.username to the user's login name, not its e-mail address",
				"UTMStack refused the login: %v", authErr.Err)
			break
		}
		r.problem("check "+key+".auth (the user, the secret file or UTMSTACK_* variable, and for a key its expiry and allowed IPs)",
			"UTMStack refused the credentials: %v", authErr.Err)
	case utmstack.ReasonTFARequired:
		r.problem("give the exporter a user without a second factor, set APP_TFA_ENABLED=false on UTMStack, or use an API key",
			"the login needs a second factor")
	case utmstack.ReasonLocked:
		r.problem("wait 10 minutes for UTMStack to lift the block, and fix the password that caused it",
			"UTMStack blocks this IP after too many failed logins: %v", authErr.Err)
	case utmstack.ReasonForbidden:
		r.problem("give the user ROLE_USER; if a proxy answered, call UTMStack's own https address",
			"access denied (403): %v", authErr.Err)
	case utmstack.ReasonUnsupportedAPI:
		r.unsupported = true
		r.problem("point the exporter at a v10 or v11 UTMStack; see docs/utmstack-v12.md",
			"this UTMStack runs the v12 API (/api/v1), which this exporter does not speak yet")
	}
}

// judgeTransport names what stood between the exporter and UTMStack.
func (r *liveReport) judgeTransport(key string, err error) {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &unknownCA):
		r.problem("set "+key+".tls_config.ca_file to the CA that signed UTMStack's certificate (insecure_skip_verify: true only to try)",
			"TLS: UTMStack's certificate is signed by an unknown authority")
	case errors.As(err, &hostname):
		r.problem("use the host name the certificate names in "+key+".url, or set "+key+".tls_config.server_name",
			"TLS: %v", hostname)
	case errors.As(err, &dnsErr):
		r.problem("check the host name in "+key+".url", "unreachable: %v", dnsErr)
	case errors.As(err, &opErr):
		r.problem("check "+key+".url (scheme, host and port) and "+key+".proxy_url, and that UTMStack runs", "unreachable: %v", opErr)
	case errors.Is(err, context.DeadlineExceeded):
		r.problem("raise "+key+".timeout, or check UTMStack's load", "no answer within %s", key+".timeout")
	default:
		r.problem("see the error", "%v", err)
	}
}

// judgeData finds the index patterns and fields that hold nothing, and
// exclude_echoes on alerts that all carry parentId.
func (r *liveReport) judgeData(ctx context.Context, c *utmstack.Client, queries []config.Query, result *round.Result) {
	for _, pattern := range slices.Sorted(maps.Keys(result.IndexAlerts)) {
		n := result.IndexAlerts[pattern]
		r.add("index", "%s holds %d alerts", pattern, n)
		if n == 0 {
			r.problem("set index_pattern: UTMStack v11 uses v11-alert-*, v10 alert-*",
				"index pattern %s holds no alert at all (a wrong pattern, or UTMStack has never raised an alert)", pattern)
		}
	}
	for i, q := range result.Queries {
		if !q.OK {
			continue
		}
		query := queries[i]
		for _, name := range q.Empty {
			for _, b := range query.By {
				if b.Name != name {
					continue
				}
				fix := "check the field name, and that it is a keyword field (name.keyword, not name)"
				if name == config.ByCountry {
					fix = "set fields.country: UTMStack v11 uses adversary.geolocation.countryCode.keyword, v10 source.countryCode.keyword"
				}
				r.problem(fix, "query %s: the %s breakdown's field %s has no value on any of its %d alerts", q.Name, name, b.Field, q.Total)
			}
		}
		if all := result.IndexAlerts[query.IndexPattern]; query.ExcludeEchoes && q.Total == 0 && all > 0 &&
			allCarryParentID(ctx, c, query.IndexPattern, query.Fields.Status, all) {
			r.problem("set exclude_echoes: false (before v11.0.x every alert has parentId \"\")",
				"query %s: every alert of %s carries parentId, so exclude_echoes (parentId DOES_NOT_EXIST) leaves none", q.Name, query.IndexPattern)
		}
	}
}

// statusBuckets is more buckets than the status field has values, so its
// buckets sum to every alert counted (as in a round).
const statusBuckets = 20

// allCarryParentID counts the alerts of the pattern that have a parentId.
func allCarryParentID(ctx context.Context, c *utmstack.Client, pattern, statusField string, all int64) bool {
	buckets, err := c.ValuesWithCount(ctx, utmstack.ValuesRequest{Index: pattern, Field: statusField, Top: statusBuckets,
		Filters: []utmstack.Filter{{Field: "parentId", Operator: "EXIST"}}})
	var withParent int64
	for _, n := range buckets {
		withParent += n
	}
	return err == nil && withParent == all
}

// describeQuery is one line: the total, each breakdown's first values, the
// ages, the time taken.
func describeQuery(query config.Query, q round.QueryResult) string {
	if !q.OK {
		return fmt.Sprintf("failed: %v", q.Err)
	}
	parts := []string{fmt.Sprintf("%d alerts in %s", q.Total, q.Duration.Round(time.Millisecond))}
	for _, b := range query.By {
		parts = append(parts, b.Name+": "+largestValues(q.Series[b.Name], 3))
	}
	for j, name := range query.Ages {
		if a := q.Ages[j]; a.Found {
			parts = append(parts, fmt.Sprintf("%s %s (%s ago)", name, a.At.UTC().Format(time.RFC3339), model.Duration(time.Since(a.At).Round(time.Minute))))
		} else {
			parts = append(parts, name+" none")
		}
	}
	return strings.Join(parts, "; ")
}

// largestValues names the n values with the most alerts, largest first,
// and how many more hold some: the series come in declared order (status
// codes, severities), where the largest may be last.
func largestValues(series []round.LabelCount, n int) string {
	var held []round.LabelCount
	for _, v := range series {
		if v.Count > 0 {
			held = append(held, v)
		}
	}
	if len(held) == 0 {
		return "none"
	}
	slices.SortStableFunc(held, func(a, b round.LabelCount) int { return cmp.Compare(b.Count, a.Count) })
	var values []string
	for _, v := range held[:min(n, len(held))] {
		values = append(values, fmt.Sprintf("%s %d", v.Label, v.Count))
	}
	out := strings.Join(values, ", ")
	if more := len(held) - n; more > 0 {
		out += fmt.Sprintf(", %d more", more)
	}
	return out
}

// keyExpiries says when the key owner's API keys expire, as far as UTMStack
// tells: it lists the owner's keys, not which one this is.
func keyExpiries(ctx context.Context, c *utmstack.Client) string {
	keys, err := c.APIKeyExpiries(ctx)
	if err != nil || len(keys) == 0 {
		return "expiry not told by this UTMStack"
	}
	var parts []string
	for _, k := range keys {
		if k.ExpiresAt.IsZero() {
			parts = append(parts, k.Name+" never expires")
		} else {
			parts = append(parts, fmt.Sprintf("%s expires %s (in %s)", k.Name, k.ExpiresAt.UTC().Format(time.RFC3339), model.Duration(time.Until(k.ExpiresAt).Round(time.Hour))))
		}
	}
	return "the owner's keys: " + strings.Join(parts, ", ")
}
