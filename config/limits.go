package config

import (
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"time"
	"unicode/utf8"
)

// Bounds on what a configuration may hold and read, so that a hostile or
// mistaken file fails fast with a short message instead of taking memory,
// time and screens. The largest real files (1000 targets with their own
// URL and key file) are a few hundred kilobytes.
const (
	maxFileBytes       = 1 << 20 // the configuration file
	maxSecretFileBytes = 4 << 10 // password_file, api_key_file, internal_key_file
	maxTLSFileBytes    = 1 << 20 // ca_file, cert_file, key_file: a CA bundle is some 200 KB
	// maxValues bounds the YAML nodes decoded, aliases expanded: a few
	// kilobytes of aliases can otherwise stand for millions of queries.
	maxValues     = 500_000
	maxQueries    = 1000 // in one `queries` list
	maxFilters    = 100  // of one query
	maxBreakdowns = 100
	maxTargets    = 5000
	// loadTimeout bounds reading the files a load reads (the configuration
	// file, then the files it names): a file on a hung mount must not stall
	// every later reload.
	loadTimeout = 10 * time.Second
	// maxShown bounds each value a message repeats.
	maxShown = 512
)

// cut shortens s for a message, saying how much was left out.
func cut(s string) string {
	if len(s) <= maxShown {
		return s
	}
	end := maxShown
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return fmt.Sprintf("%s... (cut: %d bytes in all)", s[:end], len(s))
}

// cutAll cuts the values a message repeats.
func cutAll(args []any) []any {
	for i, a := range args {
		if err, ok := a.(error); ok {
			a = err.Error()
		}
		if s, ok := a.(string); ok {
			args[i] = cut(s)
		}
	}
	return args
}

// withinLimits reports every count over its limit.
func withinLimits(p *problems, raw *rawConfig) bool {
	lists := map[string]*[]rawQuery{"queries": raw.Queries}
	for name, t := range raw.Targets {
		lists[joinKey(joinKey("targets", name), "queries")] = t.Queries
	}
	ok := tooMany(p, "breakdowns", len(raw.Breakdowns), maxBreakdowns, "breakdowns")
	ok = tooMany(p, "targets", len(raw.Targets), maxTargets, "targets") && ok
	for _, key := range slices.Sorted(maps.Keys(lists)) {
		if qs := lists[key]; qs != nil {
			ok = tooMany(p, key, len(*qs), maxQueries, "queries") && ok
			for i, q := range *qs {
				ok = tooMany(p, fmt.Sprintf("%s[%d].filters", key, i), len(q.Filters), maxFilters, "filters") && ok
			}
		}
	}
	return ok
}

// tooMany reports n entries over limit; false then.
func tooMany(p *problems, key string, n, limit int, what string) bool {
	if n > limit {
		p.add(key, "%d %s; at most %d are accepted", n, what, limit)
	}
	return n <= limit
}

// readFile reads a regular file of at most limit bytes. A FIFO would block
// and /dev/zero never end, so anything else is refused before it is opened.
func readFile(path string, limit int64) ([]byte, error) {
	if err := checkFile(path, limit); err != nil {
		return nil, err
	}
	f, err := os.Open(path) // also reports a file checkFile could not see
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("%s is larger than %d bytes, the limit", path, limit)
	}
	return data, err
}

// checkFile says why path is not a regular file of at most limit bytes;
// nil also when it cannot tell: opening the file then says why.
func checkFile(path string, limit int64) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return nil
	case fi.IsDir():
		return fmt.Errorf("%s is a directory, not a regular file", path)
	case fi.Mode()&fs.ModeNamedPipe != 0:
		return fmt.Errorf("%s is a named pipe, not a regular file", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is a device or a socket, not a regular file", path)
	case fi.Size() > limit:
		return fmt.Errorf("%s is %d bytes, larger than %d, the limit", path, fi.Size(), limit)
	}
	return nil
}

// timely runs f, or gives up at deadline. f goes on alone then; what it
// reads is bounded, and nothing waits for it.
func timely(deadline time.Time, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("gave up after %s, the time one load may take to read its files", loadTimeout)
	}
}
