package utmstack

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// KeyExpiry is one of the key owner's API keys, as GET /api/api-keys lists
// them; ExpiresAt is zero for a key that never expires.
type KeyExpiry struct {
	Name      string
	ExpiresAt time.Time
}

const endpointAPIKeys = "api_keys"

// APIKeyExpiries lists the expiries of the API keys of the user the
// credential belongs to (v11.0.x; older UTMStacks have no API keys).
// UTMStack does not say which of them the request used.
func (c *Client) APIKeyExpiries(ctx context.Context) ([]KeyExpiry, error) {
	resp, err := c.call(ctx, apiCall{endpoint: endpointAPIKeys, path: "/api/api-keys?page=0&size=100", ownForbidden: true})
	if err != nil {
		return nil, err
	}
	var keys []struct {
		Name      string     `json:"name"`
		ExpiresAt *time.Time `json:"expiresAt"`
	}
	if err := json.Unmarshal(resp.body, &keys); err != nil {
		return nil, &Error{Endpoint: endpointAPIKeys, Status: resp.status, Err: fmt.Errorf("expected a JSON array of keys, got %s", snippet(c.scrub(resp.body)))}
	}
	out := make([]KeyExpiry, len(keys))
	for i, k := range keys {
		out[i].Name = k.Name
		if k.ExpiresAt != nil {
			out[i].ExpiresAt = *k.ExpiresAt
		}
	}
	return out, nil
}
