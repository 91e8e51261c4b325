package http

import (
	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

type matterList struct {
	Items []station.Matter `json:"items"`
}

func (s *Server) handleCategories(c *fiber.Ctx) error {
	cats, err := s.store.Categories(c.UserContext())
	if err != nil {
		return err
	}
	if cats == nil {
		cats = []station.CategoryCount{}
	}
	return c.JSON(cats)
}

func (s *Server) handleMatters(c *fiber.Ctx) error {
	items, err := s.store.Matters(c.UserContext(), station.MatterFilter{
		Query:      c.Query("q"),
		Category:   c.Query("category"),
		Department: c.Query("department"),
	})
	if err != nil {
		return err
	}
	if items == nil {
		items = []station.Matter{}
	}
	return c.JSON(matterList{Items: items})
}

func (s *Server) handleMatter(c *fiber.Ctx) error {
	m, err := s.store.Matter(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	return c.JSON(m)
}
