package http

import (
	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

type auditList struct {
	Items   []station.AuditEntry `json:"items"`
	Total   int                  `json:"total"`
	Page    int                  `json:"page"`
	PerPage int                  `json:"per_page"`
}

func (s *Server) handleAudit(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	items, total, err := s.store.AuditEntries(c.UserContext(), station.AuditFilter{
		Actor: c.Query("actor"), Action: c.Query("action"), Object: c.Query("object"),
		Offset: (page - 1) * perPage, Limit: perPage,
	})
	if err != nil {
		return err
	}
	if items == nil {
		items = []station.AuditEntry{}
	}
	return c.JSON(auditList{Items: items, Total: total, Page: page, PerPage: perPage})
}

func (s *Server) handleAuditVerify(c *fiber.Ctx) error {
	rep, err := s.store.VerifyAudit(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(rep)
}
