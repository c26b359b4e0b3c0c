package utmstack

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// IncidentStatuses are UTMStack's IncidentStatusEnum values, in its order.
var IncidentStatuses = []string{"OPEN", "IN_REVIEW", "COMPLETED", "MERGED"}

const endpointIncidents = "utm_incidents"

// CountIncidents returns how many incidents have the status, from
// GET /api/utm-incidents with UTMStack's criteria parameters: the
// X-Total-Count header of a one-item page, an exact database count. A 403
// (a user who may not read incidents) is an *Error with Status 403 and
// holds back no other call.
func (c *Client) CountIncidents(ctx context.Context, status string) (int64, error) {
	q := url.Values{"incidentStatus.equals": {status}, "page": {"0"}, "size": {"1"}}
	resp, err := c.call(ctx, apiCall{endpoint: endpointIncidents, path: "/api/utm-incidents?" + q.Encode(), ownForbidden: true})
	if err != nil {
		return 0, err
	}
	header := resp.header.Get("X-Total-Count")
	n, err := strconv.ParseInt(strings.TrimSpace(header), 10, 64)
	if err != nil || n < 0 {
		return 0, &Error{Endpoint: endpointIncidents, Status: resp.status,
			Err: fmt.Errorf("X-Total-Count is %q, expected a whole number of incidents", truncateKey(c.scrubText(header)))}
	}
	return n, nil
}
