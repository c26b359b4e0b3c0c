package utmstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

const endpointInfo = "management_info"

// Version returns UTMStack's own version, build.version of the public
// GET /management/info (e.g. v11.0.1-community; 10.8.0 on v10). It sends
// no credential.
func (c *Client) Version(ctx context.Context) (string, error) {
	resp, err := c.send(ctx, endpointInfo, http.MethodGet, "/management/info", nil, nil)
	if err != nil {
		return "", err
	}
	if resp.status != http.StatusOK {
		return "", &Error{Endpoint: endpointInfo, Status: resp.status, Err: fmt.Errorf("unexpected answer: %s", snippet(c.scrub(resp.body)))}
	}
	var info struct {
		Build struct {
			Version string `json:"version"`
		} `json:"build"`
	}
	if err := json.Unmarshal(resp.body, &info); err != nil {
		return "", &Error{Endpoint: endpointInfo, Status: resp.status, Err: fmt.Errorf("expected a JSON object, got %s", snippet(c.scrub(resp.body)))}
	}
	if info.Build.Version == "" {
		return "", &Error{Endpoint: endpointInfo, Status: resp.status, Err: errors.New("the answer has no build.version")}
	}
	return info.Build.Version, nil
}
