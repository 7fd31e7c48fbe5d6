package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ldapply/ldapply/providers/httpapi"
)

// Service is what a SCIM service says of itself (RFC 7644 §4): its
// /ServiceProviderConfig, /ResourceTypes and /Schemas.
type Service struct {
	Capabilities
	ResourceTypes []ResourceType
	// Attributes maps a schema URN to the attributes it declares, lower
	// case, sub-attributes as "name.givenname". Nil when the service
	// serves no /Schemas.
	Attributes map[string]map[string]bool
	// SchemaNames maps a schema URN to its name ("User").
	SchemaNames map[string]string
}

// ResourceType is one entry of /ResourceTypes.
type ResourceType struct {
	Name, Endpoint, Schema string
	Extensions             []Extension
}

// Extension is a schema extension of a resource type.
type Extension struct {
	Schema   string
	Required bool
}

// DiscoverService reads the three discovery endpoints. A service that
// serves no /ResourceTypes or /Schemas (404, 501) is no error: those
// parts stay empty.
func (c *Client) DiscoverService(ctx context.Context) (*Service, error) {
	caps, err := c.Discover(ctx)
	if err != nil {
		return nil, err
	}
	s := &Service{Capabilities: *caps}
	var types []struct {
		Name, Endpoint, Schema string
		SchemaExtensions       []struct {
			Schema   string `json:"schema"`
			Required bool   `json:"required"`
		} `json:"schemaExtensions"`
	}
	if err := c.discoveryList(ctx, "ResourceTypes", &types); err != nil {
		return nil, err
	}
	for _, t := range types {
		rt := ResourceType{Name: t.Name, Endpoint: t.Endpoint, Schema: t.Schema}
		for _, e := range t.SchemaExtensions {
			rt.Extensions = append(rt.Extensions, Extension{Schema: e.Schema, Required: e.Required})
		}
		s.ResourceTypes = append(s.ResourceTypes, rt)
	}
	var schemas []struct {
		ID, Name   string
		Attributes []schemaAttr
	}
	if err := c.discoveryList(ctx, "Schemas", &schemas); err != nil {
		return nil, err
	}
	if schemas != nil {
		s.Attributes, s.SchemaNames = map[string]map[string]bool{}, map[string]string{}
	}
	for _, sc := range schemas {
		attrs := map[string]bool{}
		for _, a := range sc.Attributes {
			attrs[strings.ToLower(a.Name)] = true
			for _, sub := range a.SubAttributes {
				attrs[strings.ToLower(a.Name+"."+sub.Name)] = true
			}
		}
		s.Attributes[sc.ID], s.SchemaNames[sc.ID] = attrs, sc.Name
	}
	return s, nil
}

type schemaAttr struct {
	Name          string       `json:"name"`
	SubAttributes []schemaAttr `json:"subAttributes"`
}

// discoveryList reads the Resources of a discovery endpoint into out;
// out stays nil when the service does not serve it.
func (c *Client) discoveryList(ctx context.Context, endpoint string, out any) error {
	res, err := c.do(ctx, &httpapi.Request{Method: http.MethodGet, Path: endpoint, Repeatable: true})
	if st := httpapi.StatusOf(err); st == http.StatusNotFound || st == http.StatusNotImplemented {
		return nil
	}
	if err != nil {
		return err
	}
	// A ListResponse by RFC 7644 §4; some services answer a bare array.
	var list struct {
		Resources json.RawMessage `json:"Resources"`
	}
	raw := res.Body
	if json.Unmarshal(res.Body, &list) == nil && list.Resources != nil {
		raw = list.Resources
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("scim: GET %s: the answer is not a list of %s: %w", endpoint, endpoint, err)
	}
	return nil
}

// Has reports whether the service's schemas declare the attribute path
// of kind (a user_attributes or group_attributes key). It is true when
// the service serves no /Schemas: nothing says otherwise.
func (s *Service) Has(schema, path string) bool {
	if s.Attributes == nil {
		return true
	}
	if rest, ok := strings.CutPrefix(path, EnterpriseSchema+":"); ok {
		schema, path = EnterpriseSchema, rest
	}
	attrs := s.Attributes[schema]
	if attrs == nil {
		return false
	}
	p := strings.ToLower(path)
	if isWorkEmail(path) {
		p = "emails"
	}
	return attrs[p]
}

// bulkUsable reports whether caps offer a bulk endpoint with limits
// ldapply can keep within.
func bulkUsable(caps *Capabilities) bool {
	return caps.Bulk && caps.BulkMaxOperations > 0 && caps.BulkMaxPayloadSize > 0
}
