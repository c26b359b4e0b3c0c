package utmstack

import (
	"encoding/json"
	"errors"
	"fmt"
)

// loginAnswer is what a 200 from POST /api/authenticate told us.
type loginAnswer struct {
	token       string
	tfaRequired bool
}

// parseLoginResponse reads both shapes UTMStack has answered with:
// v10 and v11 up to May 2025: {"id_token": "...", "authenticated": true}
// v11.0.x:                    {"success": true, "forceTfa": false, "token": "...", ...}
// A pre-verification token (TFA pending) is reported, not returned as usable.
func parseLoginResponse(body []byte) (loginAnswer, error) {
	var raw struct {
		Token         *string `json:"token"`
		IDToken       *string `json:"id_token"`
		Authenticated *bool   `json:"authenticated"`
		ForceTFA      *bool   `json:"forceTfa"`
		Success       *bool   `json:"success"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return loginAnswer{}, fmt.Errorf("expected a JSON object with token or id_token, got %s", describeBody(body))
	}
	var token string
	switch {
	case raw.Token != nil && *raw.Token != "":
		token = *raw.Token
	case raw.IDToken != nil && *raw.IDToken != "":
		token = *raw.IDToken
	default:
		return loginAnswer{}, errors.New("login answer has neither token nor id_token")
	}
	if raw.Success != nil && !*raw.Success {
		return loginAnswer{}, errors.New("login answer says success=false")
	}
	answer := loginAnswer{token: token}
	if (raw.ForceTFA != nil && *raw.ForceTFA) || (raw.Authenticated != nil && !*raw.Authenticated) {
		answer.tfaRequired = true
	}
	if claims, err := parseTokenClaims(token); err == nil && claims.preVerification() {
		answer.tfaRequired = true
	}
	return answer, nil
}
