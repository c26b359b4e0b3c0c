package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// gzipAnswers compresses /metrics and /probe answers in place of promhttp.
//
// promhttp compresses at gzip's default level with writers in a sync.Pool,
// which every garbage collection empties, so a scrape often allocates a
// fresh writer of about 1 MB. Here the answer is compressed at BestSpeed
// (less than half the CPU for a body about 13 % larger, BENCHMARKS.md) by
// one of a fixed set of writers that live as long as the process.
// Compression is CPU work, so a scrape that finds every writer busy waits
// for one rather than allocate another; the answer is compressed into
// memory first, so a slow client never holds a writer.
type gzipAnswers struct {
	writers chan *gzip.Writer // nil entries: not created yet
	buffers sync.Pool         // *bytes.Buffer
}

func newGzipAnswers(writers int) *gzipAnswers {
	g := &gzipAnswers{writers: make(chan *gzip.Writer, max(writers, 1))}
	for range cap(g.writers) {
		g.writers <- nil
	}
	g.buffers.New = func() any { return new(bytes.Buffer) }
	return g
}

// serve runs h for r and sends its answer gzipped when r accepts gzip and
// h answered 200; anything else (errors) goes out as h wrote it.
func (g *gzipAnswers) serve(w http.ResponseWriter, r *http.Request, h http.Handler) {
	w.Header().Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r.Header.Values("Accept-Encoding")) {
		h.ServeHTTP(w, r)
		return
	}
	plain := g.buffer()
	defer g.buffers.Put(plain)
	answer := &bufferedAnswer{header: w.Header(), body: plain}
	h.ServeHTTP(answer, r)
	if answer.status != 0 && answer.status != http.StatusOK {
		w.WriteHeader(answer.status)
		_, _ = w.Write(plain.Bytes())
		return
	}

	zipped := g.buffer()
	defer g.buffers.Put(zipped)
	if !g.compress(r.Context(), zipped, plain.Bytes()) {
		return // the client left while waiting for a writer: nobody to answer
	}

	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Set("Content-Length", strconv.Itoa(zipped.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(zipped.Bytes())
}

// compress gzips plain into out with one of the writers, waiting for one
// while ctx lasts. The writer goes back even if compression panics.
func (g *gzipAnswers) compress(ctx context.Context, out *bytes.Buffer, plain []byte) bool {
	var gz *gzip.Writer
	select {
	case gz = <-g.writers:
	case <-ctx.Done():
		return false
	}
	defer func() { g.writers <- gz }()
	if gz == nil {
		gz, _ = gzip.NewWriterLevel(nil, gzip.BestSpeed) // the level is valid: no error
	}
	gz.Reset(out)
	_, _ = gz.Write(plain) // writes to a bytes.Buffer do not fail
	_ = gz.Close()
	return true
}

func (g *gzipAnswers) buffer() *bytes.Buffer {
	b := g.buffers.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// bufferedAnswer keeps a handler's answer in memory. Headers go straight to
// the real response's.
type bufferedAnswer struct {
	header http.Header
	body   *bytes.Buffer
	status int
}

func (a *bufferedAnswer) Header() http.Header { return a.header }

func (a *bufferedAnswer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *bufferedAnswer) Write(p []byte) (int, error) { return a.body.Write(p) }

// acceptsGzip reads Accept-Encoding (RFC 9110 12.5.3): gzip is acceptable
// when listed, or covered by "*", with a q-value above 0.
func acceptsGzip(values []string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, value := range values {
		for part := range strings.SplitSeq(value, ",") {
			coding, params, _ := strings.Cut(part, ";")
			q := 1.0
			for param := range strings.SplitSeq(params, ";") {
				name, v, ok := strings.Cut(strings.TrimSpace(param), "=")
				if ok && strings.EqualFold(strings.TrimSpace(name), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
						q = f
					}
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				gzipQ = q
			case "*":
				starQ = q
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}
