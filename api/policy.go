package api

import (
	"fmt"
	"regexp"
	"strings"
)

// Term policy actions.
const (
	TermReject = "reject" // refuse the text with a 400 naming the field
	TermHold   = "hold"   // accept it, but hold the video or comment for review
)

// TermRule is one entry of the term policy: a word or phrase matched case-insensitively on
// word boundaries in titles, descriptions, tags and comments.
type TermRule struct {
	Term   string
	Action string
}

// ParseTermPolicy reads "reject:term,hold:other phrase,…", the format of --term-policy.
func ParseTermPolicy(s string) ([]TermRule, error) {
	var rules []TermRule
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		action, term, ok := strings.Cut(item, ":")
		term = strings.TrimSpace(term)
		if !ok || term == "" || (action != TermReject && action != TermHold) {
			return nil, fmt.Errorf("term policy entry %q: write it as reject:TERM or hold:TERM", item)
		}
		rules = append(rules, TermRule{Term: term, Action: action})
	}
	return rules, nil
}

// termPolicy is the compiled policy.
type termPolicy struct {
	reject, hold *regexp.Regexp // nil when there is no rule of that action
}

func compileTermPolicy(rules []TermRule) termPolicy {
	var p termPolicy
	build := func(action string) *regexp.Regexp {
		var alts []string
		for _, r := range rules {
			if r.Action == action {
				alts = append(alts, regexp.QuoteMeta(strings.ToLower(r.Term)))
			}
		}
		if len(alts) == 0 {
			return nil
		}
		// \b only knows ASCII word characters; these boundaries know every letter and digit.
		return regexp.MustCompile(`(?:^|[^\p{L}\p{N}])(?:` + strings.Join(alts, "|") + `)(?:$|[^\p{L}\p{N}])`)
	}
	p.reject, p.hold = build(TermReject), build(TermHold)
	return p
}

// screenText checks user text against the term policy. fields maps field names to text; the
// result names the fields that must be rejected, and whether the content must be held.
func (p termPolicy) screenText(fields map[string]string) (rejected map[string]string, hold string) {
	for name, text := range fields {
		lower := strings.ToLower(text)
		if p.reject != nil && p.reject.MatchString(lower) {
			if rejected == nil {
				rejected = map[string]string{}
			}
			rejected[name] = "contains a term this site does not allow"
		}
		if p.hold != nil && hold == "" && p.hold.MatchString(lower) {
			hold = "term policy: the " + name + " contains a term held for review"
		}
	}
	return rejected, hold
}
