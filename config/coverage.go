package config

import "time"

// Coverage says what the exporter reads of UTMStack's own coverage: when
// each log source last sent a log, and the state of each agent. The zero
// value reads nothing.
type Coverage struct {
	DataSources    bool
	MaxDataSources int // per-source series kept, the most overdue first
	Agents         bool
	Interval       time.Duration // read at most this often
}
