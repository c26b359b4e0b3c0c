// Package living gives the fake UTMStack of utmstacktest the data of a
// working SOC, for the demo, the load test and tests that want realistic
// alerts: Alerts and Incidents generate repeatable sets, and a Simulation
// makes them change over time, with log sources and agents that go quiet
// when told to.
package living
