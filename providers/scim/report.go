package scim

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/ldapply/ldapply/plan"
)

// Core schema URNs (RFC 7643 §4).
const (
	UserSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

// ReportService reads the service's discovery endpoints and writes, for
// `ldapply validate`, what the service supports and what ldapply does
// about it, and which mapped attributes its schemas do not declare.
func (p *Provider) ReportService(ctx context.Context, w io.Writer) error {
	s, err := p.client.DiscoverService(ctx)
	if err != nil {
		return fmt.Errorf("scim: read what the service supports (/ServiceProviderConfig, /ResourceTypes, /Schemas): %w", err)
	}
	fmt.Fprintf(w, "The SCIM service at %s supports:\n", strings.TrimRight(p.cfg.URL, "/"))
	for _, l := range p.capabilityLines(s) {
		fmt.Fprintf(w, "  %-15s %s\n", l[0], l[1])
	}
	for _, l := range p.schemaLines(s) {
		fmt.Fprintf(w, "  %s\n", l)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "supported"
	}
	return "not supported"
}

// capabilityLines are the /ServiceProviderConfig lines: the capability,
// and whether it is supported with what ldapply does about it.
func (p *Provider) capabilityLines(s *Service) [][2]string {
	patch := fmt.Sprintf("supported: changes are PATCHes, members in chunks of at most %d", p.cfg.PatchOperations)
	if !s.Patch {
		patch = "not supported: changes are PUTs of the whole resource, a group's with its whole member list"
	}
	etag := "supported: writes carry If-Match; a 412 is drift"
	if !s.ETag {
		etag = "not supported: writes go without If-Match"
	}
	filter := "supported"
	if s.FilterMaxResults > 0 {
		filter += fmt.Sprintf(" (at most %d results)", s.FilterMaxResults)
	}
	filter += ": a create whose answer was lost is looked for by externalId"
	if !s.Filter {
		filter = "not supported: a create whose answer was lost fails its change; the next plan adopts what it made"
	}
	bulk := fmt.Sprintf("supported (%d operations, %d bytes a request): creates go in bulk", s.BulkMaxOperations, s.BulkMaxPayloadSize)
	switch {
	case !s.Bulk:
		bulk = "not supported: one POST per create"
	case p.cfg.DisableBulk:
		bulk = fmt.Sprintf("supported (%d operations, %d bytes a request), not used (target.scim.disable_bulk)", s.BulkMaxOperations, s.BulkMaxPayloadSize)
	case !bulkUsable(&s.Capabilities):
		bulk = "supported, but without usable limits (maxOperations or maxPayloadSize 0): one POST per create"
	}
	auth := strings.Join(s.AuthenticationSchemes, ", ")
	if auth == "" {
		auth = "none listed"
	}
	return [][2]string{
		{"PATCH", patch},
		{"ETags", etag},
		{"filter", filter},
		{"bulk", bulk},
		{"sort", yesNo(s.Sort) + " (not used: lists are read whole)"},
		{"changePassword", yesNo(s.ChangePassword) + " (not used: ldapply never sets passwords)"},
		{"authentication", auth},
	}
}

// schemaLines describe the resource types and check the mapped
// attributes against the schemas.
func (p *Provider) schemaLines(s *Service) []string {
	var out []string
	if len(s.ResourceTypes) == 0 {
		out = append(out, "resource types: the service lists none (/ResourceTypes); ldapply uses /Users and /Groups")
	}
	for _, rt := range s.ResourceTypes {
		l := fmt.Sprintf("resource type %s at %s (%s", rt.Name, rt.Endpoint, rt.Schema)
		for _, e := range rt.Extensions {
			req := "optional"
			if e.Required {
				req = "required"
			}
			l += fmt.Sprintf("; extension %s, %s", e.Schema, req)
		}
		out = append(out, l+")")
	}
	if s.Attributes == nil {
		return append(out, "schemas: the service serves no /Schemas; the mapped attributes cannot be checked")
	}
	var missing []string
	for _, k := range plan.Kinds {
		schema, key := UserSchema, "user_attributes"
		if k == plan.KindGroup {
			schema, key = GroupSchema, "group_attributes"
		}
		for _, path := range slices.Sorted(maps.Keys(p.tmpl[k])) {
			if !s.Has(schema, path) {
				missing = append(missing, key+"."+path)
			}
		}
	}
	if len(missing) == 0 {
		return append(out, "mapped attributes: every one is in the service's schemas")
	}
	return append(out, fmt.Sprintf("mapped attributes not in the service's schemas (it may refuse or drop them): %s", strings.Join(missing, ", ")))
}
