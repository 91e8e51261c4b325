package http

import (
	"crypto/subtle"
	"errors"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"net"
	"strings"

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
		if errors.Is(err, station.ErrStoreDegraded) {
			return station.Errorf(station.EUNAVAILABLE, "磁盘已满或故障：只能查询，不能保存新数据")
		}
		return station.Errorf(station.EUNAVAILABLE, "存储尚未就绪")
	}
	return c.SendString("ok")
}

// handleMetrics serves the Prometheus metrics to the box itself, and to a scraper elsewhere only with
// the configured bearer token: the figures name no person, but they show the station's activity.
func (s *Server) handleMetrics(c *fiber.Ctx) error {
	if ip := net.ParseIP(c.IP()); ip == nil || !ip.IsLoopback() {
		auth := c.Get(fiber.HeaderAuthorization)
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if s.metricsToken == "" || !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.metricsToken)) != 1 {
			return station.Errorf(station.EFORBIDDEN, "指标只对本机开放；远程采集需配置 metrics-token 并携带令牌")
		}
	}
	return s.metricsHandler(c)
}

// newUUIDv7 returns a new time-ordered UUID string.
func newUUIDv7() string {
	return uuid.Must(uuid.NewV7()).String()
}
