package http

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/civic-station/station/station"
)

func (s *Server) handleHealthz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendString("ok")
}

func (s *Server) handleReadyz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if err := s.store.Ready(c.UserContext()); err != nil {
		s.logger.Warn("not ready", "err", err)
		return station.Errorf(station.EUNAVAILABLE, "存储尚未就绪")
	}
	return c.SendString("ok")
}

func (s *Server) handleMetrics(c *fiber.Ctx) error {
	return s.metricsHandler(c)
}

// newUUIDv7 returns a new time-ordered UUID string.
func newUUIDv7() string {
	return uuid.Must(uuid.NewV7()).String()
}
