package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The alerts on what must always run (templates/_alerts.tpl).
var availabilityAlerts = []string{"SignetWebhookNoReadyReplica", "SignetScannerNoLeader", "SignetScanOverdue"}

// seg is a run of samples, one a minute: a value n times, or n missing
// samples ("_"), or the series' end ("stale", once).
type seg struct {
	v string
	n int
}

func samples(segs ...seg) string {
	var out []string
	for _, s := range segs {
		switch {
		case s.v == "stale":
			out = append(out, "stale")
		case s.v == "_":
			out = append(out, fmt.Sprintf("_x%d", s.n))
		default:
			out = append(out, fmt.Sprintf("%sx%d", s.v, s.n-1)) // axN is N+1 samples
		}
	}
	return strings.Join(out, " ")
}

// The series the alerts read, labelled as the chart's ServiceMonitor and
// kube-state-metrics label them.
func ksmAvailable(s ...seg) [2]string {
	return [2]string{fmt.Sprintf(`kube_deployment_status_replicas_available{namespace=%q, deployment=%q}`, releaseNamespace, fullname), samples(s...)}
}
func webhookUp(pod string, s ...seg) [2]string {
	return [2]string{fmt.Sprintf(`up{namespace=%q, job=%q, pod=%q}`, releaseNamespace, fullname+"-metrics", pod), samples(s...)}
}
func scanLeader(pod string, s ...seg) [2]string {
	return [2]string{fmt.Sprintf(`signet_scan_leader{namespace=%q, job=%q, pod=%q}`, releaseNamespace, scannerName+"-metrics", pod), samples(s...)}
}
func scanPasses(pod, trigger string, s ...seg) [2]string {
	return [2]string{fmt.Sprintf(`signet_scan_duration_seconds_count{namespace=%q, job=%q, pod=%q, trigger=%q}`, releaseNamespace, scannerName+"-metrics", pod, trigger), samples(s...)}
}

// healthy is a webhook with ready replicas and a leading scanner whose
// first pass finished at minute 1, for n minutes.
func healthy(n int) [][2]string {
	return [][2]string{ksmAvailable(seg{"3", n}), webhookUp("w1", seg{"1", n}), scanLeader("s1", seg{"1", n}),
		scanPasses("s1", "start", seg{"_", 1}, seg{"1", n - 1})}
}

// TestAvailabilityAlertsFire evaluates the chart's rendered PrometheusRule
// with Prometheus' own engine (promtool test rules) over series shaped as
// the ServiceMonitor and kube-state-metrics deliver them: each availability
// alert fires when what it guards is gone, and not before its time nor while
// all is well.
func TestAvailabilityAlertsFire(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads promtool")
	}
	steady := scanPasses("s1", "periodic", seg{"_", 60}, seg{"1", 60}, seg{"2", 60}, seg{"3", 60}, seg{"4", 60}, seg{"5", 61})
	stuck := scanPasses("s1", "periodic", seg{"_", 60}, seg{"1", 60}, seg{"2", 241})
	rules := renderedRules(t)
	for _, sc := range []struct {
		name   string
		series [][2]string
		at     string
		firing []string
	}{
		{"all is well for six hours: nothing fires", append(healthy(361), steady), "360m", nil},
		{"kube-state-metrics sees no available webhook replica: fires after 2m",
			append(healthy(41)[1:], ksmAvailable(seg{"3", 10}, seg{"0", 31})), "20m", []string{"SignetWebhookNoReadyReplica"}},
		{"one minute without a ready replica is not yet an alert",
			append(healthy(41)[1:], ksmAvailable(seg{"3", 10}, seg{"0", 31})), "11m", nil},
		{"no webhook replica answers its scrape (no kube-state-metrics): fires",
			[][2]string{webhookUp("w1", seg{"1", 10}, seg{"stale", 1}), scanLeader("s1", seg{"1", 41}), scanPasses("s1", "start", seg{"1", 41})},
			"20m", []string{"SignetWebhookNoReadyReplica"}},
		{"no scanner replica holds the Lease: fires after 10m",
			append(healthy(41)[:2], scanLeader("s1", seg{"1", 10}, seg{"0", 31}), scanPasses("s1", "start", seg{"1", 41})),
			"25m", []string{"SignetScannerNoLeader"}},
		{"the scanner's pods are gone: no leader",
			append(healthy(41)[:2], scanLeader("s1", seg{"1", 10}, seg{"stale", 1}), scanPasses("s1", "start", seg{"1", 10}, seg{"stale", 1})),
			"25m", []string{"SignetScannerNoLeader"}},
		{"a pass is stuck: not yet 3h after the last pass",
			append(healthy(361), stuck), "290m", nil},
		{"a pass is stuck: fires 3h after the last pass",
			append(healthy(361), stuck), "310m", []string{"SignetScanOverdue"}},
		{"a fresh install's first pass runs: no alert while the leader is younger than 3h",
			[][2]string{ksmAvailable(seg{"3", 200}), webhookUp("w1", seg{"1", 200}), scanLeader("s1", seg{"1", 200})}, "170m", nil},
		{"a first pass that never ends: fires",
			[][2]string{ksmAvailable(seg{"3", 200}), webhookUp("w1", seg{"1", 200}), scanLeader("s1", seg{"1", 200})}, "190m", []string{"SignetScanOverdue"}},
		{"a new leader's first pass counts: the old leader was stuck, the new one finished a pass", [][2]string{
			ksmAvailable(seg{"3", 321}), webhookUp("w1", seg{"1", 321}),
			scanLeader("a", seg{"1", 200}, seg{"stale", 1}),
			scanPasses("a", "start", seg{"_", 1}, seg{"1", 199}, seg{"stale", 1}),
			scanPasses("a", "periodic", seg{"_", 60}, seg{"1", 60}, seg{"2", 80}, seg{"stale", 1}),
			scanLeader("b", seg{"_", 200}, seg{"1", 121}),
			scanPasses("b", "start", seg{"_", 205}, seg{"1", 116}),
		}, "310m", nil},
	} {
		t.Run(sc.name, func(t *testing.T) {
			runPromtool(t, rules, sc.series, sc.at, sc.firing)
		})
	}
}

// runPromtool writes the rendered rules and one promtool test: at evaluation
// time `at`, each availability alert fires (with the rule's labels and
// annotations) exactly when it is listed in firing.
func runPromtool(t *testing.T, rules ruleGroups, series [][2]string, at string, firing []string) {
	t.Helper()
	var input []map[string]any
	for _, s := range series {
		input = append(input, map[string]any{"series": s[0], "values": s[1]})
	}
	var checks []map[string]any
	for _, name := range availabilityAlerts {
		exp := []any{}
		if slices.Contains(firing, name) {
			r := rules.alert(t, name)
			exp = append(exp, map[string]any{"exp_labels": r["labels"], "exp_annotations": r["annotations"]})
		}
		checks = append(checks, map[string]any{"eval_time": at, "alertname": name, "exp_alerts": exp})
	}
	dir := t.TempDir()
	writeYAML(t, filepath.Join(dir, "rules.yml"), map[string]any{"groups": rules.groups})
	writeYAML(t, filepath.Join(dir, "test.yml"), map[string]any{
		"rule_files": []string{"rules.yml"}, "evaluation_interval": "1m",
		"tests": []any{map[string]any{"interval": "1m", "input_series": input, "alert_rule_test": checks}},
	})
	cmd := exec.Command(promtool(t), "test", "rules", "test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

type ruleGroups struct{ groups []any }

// renderedRules is the spec of the PrometheusRule the chart renders with
// monitoring on.
func renderedRules(t *testing.T) ruleGroups {
	t.Helper()
	pr := ofKind(render(t, observabilityValues), "PrometheusRule")
	if len(pr) != 1 {
		t.Fatalf("want one PrometheusRule, rendered %d", len(pr))
	}
	groups, _, _ := unstructured.NestedSlice(pr[0].Object, "spec", "groups")
	return ruleGroups{groups}
}

func (g ruleGroups) alert(t *testing.T, name string) map[string]any {
	t.Helper()
	for _, grp := range g.groups {
		rules, _, _ := unstructured.NestedSlice(grp.(map[string]any), "rules")
		for _, r := range rules {
			if r := r.(map[string]any); r["alert"] == name {
				return r
			}
		}
	}
	t.Fatalf("the chart renders no alert %s", name)
	return nil
}

func writeYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestChartREADMENamesEveryAlert: the chart's README lists every alert the
// chart renders (it once listed 5 of 7), and no alert the chart lacks.
func TestChartREADMENamesEveryAlert(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rendered := map[string]bool{}
	for _, grp := range renderedRules(t).groups {
		rules, _, _ := unstructured.NestedSlice(grp.(map[string]any), "rules")
		for _, r := range rules {
			name := r.(map[string]any)["alert"].(string)
			rendered[name] = true
			if !strings.Contains(string(readme), name) {
				t.Errorf("the chart README does not name the alert %s", name)
			}
		}
	}
	for _, name := range regexp.MustCompile(`\bSignet[A-Z][A-Za-z]+`).FindAllString(string(readme), -1) {
		if !rendered[name] {
			t.Errorf("the chart README names %s, which the chart does not render", name)
		}
	}
}
