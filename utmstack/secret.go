package utmstack

import (
	"encoding/json"
	"log/slog"
)

// Secret holds a credential. Every printed, logged or marshalled form of it
// is "<secret>"; only Reveal gives the value, and only the client calls it
// when it builds a request.
type Secret string

const redacted = "<secret>"

// Reveal returns the credential itself.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// LogValue keeps the value out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText covers JSON map keys and text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalJSON keeps the value out of JSON output.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// MarshalYAML keeps the value out of YAML output.
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }
