// Package citest holds the tests of signet's CI templates (ci-templates/) and
// examples (examples/): GitHub workflows and the composite action are linted
// with actionlint, the GitLab template is checked against GitLab's CI JSON
// schema and for the structure signet relies on, and the example trust file
// must load with the policy package. It has no non-test code.
package citest
