package report

import (
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/analyzer"
)

// SARIF 2.1.0 (OASIS), the parts mimic emits. Findings have no source
// file: each result's location is logical, the Azure resource id it is
// about (kind "resource"), with the computes and assignments of its
// evidence as related locations. There is no physicalLocation.

// SARIFSchema is the schema URI a log names.
const SARIFSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations,omitempty"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	FullName       string      `json:"fullName,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool   `json:"executionSuccessful"`
	EndTimeUTC          string `json:"endTimeUtc,omitempty"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	RelatedLocations    []sarifLocation   `json:"relatedLocations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	ID               *int                   `json:"id,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
	Message          *sarifText             `json:"message,omitempty"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// sarifLevel maps severities onto SARIF levels.
func sarifLevel(s analyzer.Severity) string {
	switch s {
	case analyzer.Critical, analyzer.High:
		return "error"
	case analyzer.Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the CVSS-like score code-scanning tools sort by.
var securitySeverity = map[analyzer.Severity]string{analyzer.Critical: "9.5", analyzer.High: "8.0", analyzer.Medium: "5.5", analyzer.Low: "3.0"}

func resourceLocation(id, why string, n *int) sarifLocation {
	loc := sarifLocation{ID: n, LogicalLocations: []sarifLogicalLocation{{Name: lastSegment(id), FullyQualifiedName: id, Kind: "resource"}}}
	if why != "" {
		loc.Message = &sarifText{Text: why}
	}
	return loc
}

// SARIF converts a findings report into a SARIF 2.1.0 log.
func SARIF(rep *analyzer.Report) any {
	rules := analyzer.Rules()
	index := map[string]int{}
	driver := sarifDriver{Name: "mimic", FullName: "mimic managed identity analyzer", InformationURI: "https://github.com/mimic-emu/mimic", Version: Version}
	for i, r := range rules {
		index[r.ID] = i
		help := r.Fix + "\n\nSeverity: " + r.Rationale + "\n\nEach result's properties.fix holds the exact commands."
		driver.Rules = append(driver.Rules, sarifRule{
			ID: r.ID, Name: r.Name,
			ShortDescription:     sarifText{Text: r.Title},
			FullDescription:      sarifText{Text: r.Description},
			Help:                 sarifText{Text: help, Markdown: "**Fix.** " + r.Fix + "\n\n**Severity.** " + r.Rationale},
			DefaultConfiguration: sarifConfig{Level: sarifLevel(r.DefaultSeverity)},
			Properties: map[string]any{
				"tags":              []string{"security", "azure", "managed-identity"},
				"severity":          string(r.DefaultSeverity),
				"security-severity": securitySeverity[r.DefaultSeverity],
				"severityRationale": r.Rationale,
			},
		})
	}
	results := make([]sarifResult, 0, len(rep.Findings))
	for i := range rep.Findings {
		f := &rep.Findings[i]
		var related []sarifLocation
		n := 0
		relate := func(id, why string) {
			n++
			k := n
			related = append(related, resourceLocation(id, why, &k))
		}
		if f.Evidence.Identity != nil && !strings.EqualFold(f.Evidence.Identity.ID, f.Resource) {
			relate(f.Evidence.Identity.ID, "identity")
		}
		for _, c := range f.Evidence.Computes {
			relate(c.ID, "compute ("+c.Kind+")")
		}
		for _, a := range f.Evidence.Assignments {
			if !strings.EqualFold(a.ID, f.Resource) {
				relate(a.ID, "role assignment: "+a.Role)
			}
		}
		text := f.Message + " Fix: " + f.Fix.Summary
		props := map[string]any{
			"severity":          string(f.Severity),
			"security-severity": securitySeverity[f.Severity],
			"title":             f.Title,
			"evidence":          f.Evidence,
			"fix":               f.Fix,
		}
		if f.Adds != nil {
			props["blastRadiusAdded"] = f.Adds
		}
		results = append(results, sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity),
			Message:             sarifText{Text: text},
			Locations:           []sarifLocation{resourceLocation(f.Resource, "", nil)},
			RelatedLocations:    related,
			PartialFingerprints: map[string]string{"mimicFinding/v1": f.ID},
			Properties:          props,
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: results, Properties: map[string]any{"window": rep.Window}}
	if !rep.GeneratedAt.IsZero() {
		run.Invocations = []sarifInvocation{{ExecutionSuccessful: true, EndTimeUTC: rep.GeneratedAt.UTC().Format(time.RFC3339)}}
	}
	if rep.AccessLog != nil {
		run.Properties["accessLog"] = rep.AccessLog
	}
	return sarifLog{Schema: SARIFSchema, Version: "2.1.0", Runs: []sarifRun{run}}
}
