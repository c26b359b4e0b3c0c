package living

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// Alerts returns n realistic v11 alert documents with timestamps spread
// over the five days before now. The same now, n and seed always give the
// same alerts. About 15% are echoes (parentId set to an earlier alert's id;
// parents have no parentId key), about 10% have no adversary geolocation,
// and adversary countries follow a skewed distribution over 40 countries.
func Alerts(now time.Time, n int, seed int64) []utmstacktest.Alert {
	n = max(n, 0)
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	countryWeights := make([]float64, len(demoCountries))
	for i := range demoCountries {
		countryWeights[i] = 1 / math.Pow(float64(i+1), 1.1)
	}
	ruleWeights := make([]float64, len(demoRules))
	for i, rule := range demoRules {
		ruleWeights[i] = rule.weight
	}

	span := 5 * 24 * time.Hour
	var parents []utmstacktest.Alert
	var parentTimes []time.Time
	alerts := make([]utmstacktest.Alert, 0, n)
	for len(alerts) < n {
		var a utmstacktest.Alert
		var ts time.Time
		if len(parents) > 5 && r.Float64() < 0.15 {
			// An echo repeats its parent's rule and adversary, later.
			k := r.IntN(len(parents))
			parent, pts := parents[k], parentTimes[k]
			ts = pts.Add(time.Duration(r.Int64N(int64(now.Sub(pts)) + 1)))
			a = utmstacktest.Alert{
				"name":          parent["name"],
				"category":      parent["category"],
				"technique":     parent["technique"],
				"description":   parent["description"],
				"dataType":      parent["dataType"],
				"dataSource":    parent["dataSource"],
				"severity":      parent["severity"],
				"severityLabel": parent["severityLabel"],
				"adversary":     parent["adversary"],
				"target":        demoSide(r, false),
				"parentId":      parent["id"],
			}
		} else {
			rule := demoRules[pick(r, ruleWeights)]
			ts = now.Add(-time.Duration(r.Int64N(int64(span))))
			adversary := demoSide(r, true)
			if r.Float64() >= 0.10 {
				c := demoCountries[pick(r, countryWeights)]
				adversary["geolocation"] = map[string]any{
					"country":     c.name,
					"countryCode": c.code,
					"city":        c.city,
					"latitude":    round(c.lat+r.Float64()-0.5, 4),
					"longitude":   round(c.lon+r.Float64()-0.5, 4),
					"asn":         int64(1000 + r.IntN(60000)),
					"aso":         c.aso,
					"accuracy":    int64(5 + r.IntN(200)),
				}
			}
			a = utmstacktest.Alert{
				"name":          rule.name,
				"category":      rule.category,
				"technique":     rule.technique,
				"description":   rule.name + " detected by correlation rule.",
				"dataType":      rule.dataType,
				"dataSource":    rule.dataType + "-" + fmt.Sprint(1+r.IntN(3)),
				"severity":      rule.severity,
				"severityLabel": severityLabels[rule.severity],
				"adversary":     adversary,
				"target":        demoSide(r, false),
			}
			parents = append(parents, a)
			parentTimes = append(parentTimes, ts)
		}
		a["id"] = demoUUID(r)
		a["@timestamp"] = ts.UTC().Format(time.RFC3339Nano)
		status := demoStatuses[pick(r, demoStatusWeights)]
		a["status"] = status
		a["statusLabel"] = statusLabels[status]
		a["statusObservation"] = ""
		a["isIncident"] = false
		a["impact"] = map[string]any{
			"confidentiality": int64(r.IntN(4)),
			"integrity":       int64(r.IntN(4)),
			"availability":    int64(r.IntN(4)),
		}
		a["impactScore"] = int64(r.IntN(10))
		switch x := r.Float64(); {
		case x < 0.08:
			a["tags"] = []any{"False positive"}
		case x < 0.14:
			a["tags"] = []any{"Reviewed"}
		case x < 0.18:
			a["tags"] = []any{"VPN", "Known host"}
		}
		alerts = append(alerts, a)
	}
	return alerts
}

var severityLabels = map[int64]string{1: "Low", 2: "Medium", 3: "High"}

// statusLabels is the AlertStatus enum. The frontend also knows IGNORED (4),
// but no backend writes it (setting it fails in AlertStatus.getByCode), so
// the demo never does; filters and aggregations still take any number.
var statusLabels = map[int64]string{1: "Automatic review", 2: "Open", 3: "In review", 5: "Completed"}

var (
	demoStatuses      = []int64{2, 5, 3, 1}
	demoStatusWeights = []float64{58, 18, 14, 6}
)

type demoRule struct {
	name, category, technique, dataType string
	severity                            int64
	weight                              float64
}

var demoRules = []demoRule{
	{"SSH brute force attempt", "Credential Access", "T1110 Brute Force", "linux", 2, 14},
	{"Multiple failed Windows logons", "Credential Access", "T1110.001 Password Guessing", "wineventlog", 2, 12},
	{"Port scan detected", "Discovery", "T1046 Network Service Discovery", "firewall-fortigate-traffic", 1, 16},
	{"Connection to known malicious IP", "Command and Control", "T1071 Application Layer Protocol", "firewall-paloalto", 3, 6},
	{"Web application SQL injection attempt", "Initial Access", "T1190 Exploit Public-Facing Application", "nginx", 3, 5},
	{"Suspicious PowerShell execution", "Execution", "T1059.001 PowerShell", "wineventlog", 3, 4},
	{"New local administrator account", "Persistence", "T1136.001 Local Account", "wineventlog", 2, 3},
	{"Office 365 impossible travel", "Initial Access", "T1078 Valid Accounts", "o365", 2, 4},
	{"DNS query to newly registered domain", "Command and Control", "T1568 Dynamic Resolution", "dns", 1, 9},
	{"Outbound traffic on unusual port", "Exfiltration", "T1048 Exfiltration Over Alternative Protocol", "firewall-fortigate-traffic", 1, 10},
	{"Antivirus detected malware", "Execution", "T1204 User Execution", "antivirus-esmc-eset", 3, 3},
	{"AWS root account login", "Privilege Escalation", "T1078.004 Cloud Accounts", "aws", 2, 2},
	{"Firewall configuration changed", "Defense Evasion", "T1562.004 Disable or Modify System Firewall", "firewall-sophos-xg", 1, 5},
	{"Ransomware file extension observed", "Impact", "T1486 Data Encrypted for Impact", "wineventlog", 3, 1},
	{"TLS certificate from untrusted issuer", "Command and Control", "T1573 Encrypted Channel", "suricata", 1, 6},
}

type demoCountry struct {
	code, name, city, aso string
	lat, lon              float64
}

// Ordered by how often they appear.
var demoCountries = []demoCountry{
	{"US", "United States", "Ashburn", "Amazon.com, Inc.", 39.04, -77.49},
	{"CN", "China", "Beijing", "China Telecom", 39.90, 116.40},
	{"RU", "Russia", "Moscow", "Rostelecom", 55.75, 37.62},
	{"DE", "Germany", "Frankfurt am Main", "Hetzner Online GmbH", 50.11, 8.68},
	{"NL", "Netherlands", "Amsterdam", "DigitalOcean, LLC", 52.37, 4.90},
	{"BR", "Brazil", "São Paulo", "Claro S.A.", -23.55, -46.63},
	{"IN", "India", "Mumbai", "Bharti Airtel Ltd.", 19.08, 72.88},
	{"FR", "France", "Paris", "OVH SAS", 48.86, 2.35},
	{"GB", "United Kingdom", "London", "Vodafone Limited", 51.51, -0.13},
	{"VN", "Vietnam", "Hanoi", "Viettel Group", 21.03, 105.85},
	{"KR", "South Korea", "Seoul", "Korea Telecom", 37.57, 126.98},
	{"SG", "Singapore", "Singapore", "Alibaba (US) Technology Co., Ltd.", 1.35, 103.82},
	{"UA", "Ukraine", "Kyiv", "Kyivstar PJSC", 50.45, 30.52},
	{"IR", "Iran", "Tehran", "Iran Telecommunication Company PJS", 35.69, 51.39},
	{"ID", "Indonesia", "Jakarta", "PT Telekomunikasi Indonesia", -6.21, 106.85},
	{"JP", "Japan", "Tokyo", "NTT Communications Corporation", 35.68, 139.69},
	{"CA", "Canada", "Toronto", "Rogers Communications Canada Inc.", 43.65, -79.38},
	{"TR", "Turkey", "Istanbul", "Turk Telekom", 41.01, 28.98},
	{"HK", "Hong Kong", "Hong Kong", "HGC Global Communications Limited", 22.32, 114.17},
	{"RO", "Romania", "Bucharest", "RCS & RDS SA", 44.43, 26.10},
	{"PL", "Poland", "Warsaw", "Orange Polska Spolka Akcyjna", 52.23, 21.01},
	{"MX", "Mexico", "Mexico City", "Uninet S.A. de C.V.", 19.43, -99.13},
	{"AR", "Argentina", "Buenos Aires", "Telecom Argentina S.A.", -34.60, -58.38},
	{"CO", "Colombia", "Bogotá", "Colombia Movil", 4.71, -74.07},
	{"TW", "Taiwan", "Taipei", "Chunghwa Telecom Co., Ltd.", 25.03, 121.57},
	{"TH", "Thailand", "Bangkok", "True Internet Co.,Ltd.", 13.76, 100.50},
	{"PK", "Pakistan", "Karachi", "Pakistan Telecommunication Company Limited", 24.86, 67.01},
	{"ZA", "South Africa", "Johannesburg", "MTN SA", -26.20, 28.05},
	{"EG", "Egypt", "Cairo", "TE Data", 30.04, 31.24},
	{"IT", "Italy", "Milan", "Telecom Italia", 45.46, 9.19},
	{"ES", "Spain", "Madrid", "Telefonica de Espana", 40.42, -3.70},
	{"BG", "Bulgaria", "Sofia", "Vivacom", 42.70, 23.32},
	{"SE", "Sweden", "Stockholm", "Telia Company AB", 59.33, 18.07},
	{"NG", "Nigeria", "Lagos", "MTN Nigeria", 6.52, 3.38},
	{"BD", "Bangladesh", "Dhaka", "Grameenphone Ltd.", 23.81, 90.41},
	{"CL", "Chile", "Santiago", "Entel Chile S.A.", -33.45, -70.67},
	{"KZ", "Kazakhstan", "Almaty", "JSC Kazakhtelecom", 43.24, 76.89},
	{"LT", "Lithuania", "Vilnius", "Telia Lietuva, AB", 54.69, 25.28},
	{"CU", "Cuba", "Havana", "Empresa de Telecomunicaciones de Cuba", 23.11, -82.37},
	{"PT", "Portugal", "Lisbon", "MEO - Servicos De Comunicacoes E Multimedia S.A.", 38.72, -9.14},
}

var demoUsers = []string{"administrator", "root", "admin", "jdoe", "svc_backup", "guest", "oracle", "ubuntu"}

// demoSide is a plugins.Side: the adversary is external, the target internal.
func demoSide(r *rand.Rand, external bool) map[string]any {
	side := map[string]any{}
	if external {
		side["ip"] = fmt.Sprintf("%d.%d.%d.%d", 11+r.IntN(200), r.IntN(256), r.IntN(256), 1+r.IntN(254))
		side["port"] = int64(1024 + r.IntN(64000))
		if r.Float64() < 0.4 {
			side["user"] = demoUsers[r.IntN(len(demoUsers))]
		}
		return side
	}
	side["ip"] = fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), 1+r.IntN(254))
	side["host"] = fmt.Sprintf("srv-%02d.corp.example", 1+r.IntN(40))
	side["port"] = []int64{22, 80, 443, 445, 3389, 53, 25}[r.IntN(7)]
	return side
}

func demoUUID(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), 0x8000|r.IntN(1<<14), r.Int64N(1<<48))
}

// pick returns an index with probability proportional to its weight.
func pick(r *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func round(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}
