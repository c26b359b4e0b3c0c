package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Coverage says whether and how often UTMStack's view of its own coverage
// is read: when each log source last sent a log, each agent's status.
type Coverage struct {
	DataSources    bool
	MaxDataSources int // sources with series of their own; the counts cover all
	Agents         bool
	Interval       time.Duration // the least time between two reads
}

type rawCoverage struct {
	DataSources    *bool     `yaml:"data_sources"`
	MaxDataSources yaml.Node `yaml:"max_data_sources"`
	Agents         *bool     `yaml:"agents"`
	Interval       yaml.Node `yaml:"interval"`
}

const (
	defaultMaxDataSources = 1000
	maxDataSources        = 10_000
	defaultCoverageEvery  = time.Minute
)

func resolveCoverage(p *problems, r rawCoverage) Coverage {
	return Coverage{
		DataSources:    r.DataSources == nil || *r.DataSources,
		MaxDataSources: resolveInt(p, "coverage.max_data_sources", &r.MaxDataSources, defaultMaxDataSources, 1, maxDataSources),
		Agents:         r.Agents == nil || *r.Agents,
		Interval:       resolveDuration(p, "coverage.interval", &r.Interval, defaultCoverageEvery, true, ""),
	}
}
