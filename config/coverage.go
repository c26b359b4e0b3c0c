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
	// Agents by version: the ten most common and other.
	agentVersionsKept = 10
)

func resolveCoverage(p *problems, r rawCoverage) Coverage {
	return Coverage{
		DataSources:    r.DataSources == nil || *r.DataSources,
		MaxDataSources: resolveInt(p, "coverage.max_data_sources", &r.MaxDataSources, defaultMaxDataSources, 1, maxDataSources),
		Agents:         r.Agents == nil || *r.Agents,
		Interval:       resolveDuration(p, "coverage.interval", &r.Interval, defaultCoverageEvery, true, ""),
	}
}

// MaxSeries is the most coverage series one answer can hold, given the
// most data types that get series of their own (dataTypes): two per kept
// source and three states per data type, the agents by status and by
// version, and utmstack_coverage_up for each kind read.
func (c Coverage) MaxSeries(dataTypes int) int {
	n := 0
	if c.DataSources {
		n += 1 + 2*c.MaxDataSources + 3*dataTypes
	}
	if c.Agents {
		n += 1 + 3 + agentVersionsKept + 1
	}
	return n
}
