package http

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// The setup page's 集群 section: the boxes of the station, their roles, the leader, how far behind
// each is and when it last heard from the leader, and the one-time join code a new box joins with.

// Cluster is the station's cluster as the setup page shows it (cmd/station implements it).
type Cluster interface {
	ClusterStatus(ctx context.Context) (ClusterView, error)
	// NewJoinCode makes a one-time join code on the leader (ECONFLICT elsewhere).
	NewJoinCode(ctx context.Context) (JoinCodeView, error)
	// Stale says, in Chinese, that what this box shows may be behind the station's (a follower that
	// has not heard from the leader for a while), or "".
	Stale() string
}

// ClusterView is the station's cluster.
type ClusterView struct {
	Enabled bool            `json:"enabled"` // the box has a cluster port
	Self    string          `json:"self"`
	Leader  string          `json:"leader"` // "" when the cluster has none
	Members []ClusterMember `json:"members"`
	Warning string          `json:"warning,omitempty"` // in Chinese: e.g. two voters
}

// ClusterMember is one box of the cluster.
type ClusterMember struct {
	ID          string     `json:"id"`
	Addr        string     `json:"addr"`
	Voter       bool       `json:"voter"`
	Leader      bool       `json:"leader"`
	Self        bool       `json:"self"`
	Reachable   bool       `json:"reachable"`
	Applied     uint64     `json:"applied"`
	Lag         uint64     `json:"lag"`                    // entries behind the answering box's log
	LastContact *time.Time `json:"last_contact,omitempty"` // a follower's last word from the leader
	Error       string     `json:"error,omitempty"`
}

// JoinCodeView is a new join code and the command to type on the new box.
type JoinCodeView struct {
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
	Addr    string    `json:"addr"`
	Command string    `json:"command"`
}

func clusterRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/setup/cluster", summary: "本站集群：成员、角色、主机、落后条数、最近联系", tag: "setup", roles: techRoles,
			reply: ClusterView{}, status: 200, handle: (*Server).handleCluster},
		{method: "POST", path: "/api/v1/setup/cluster/join-code", summary: "生成一次性加入码（仅主机；审计）", tag: "setup", roles: techRoles,
			reply: JoinCodeView{}, status: 201, handle: (*Server).handleJoinCode},
	}
}

func errNoCluster() error {
	return &station.Error{Code: station.EUNAVAILABLE, Message: "本机未启用集群端口（配置项 cluster-listen）"}
}

func (s *Server) handleCluster(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if s.cluster == nil {
		return c.JSON(ClusterView{Members: []ClusterMember{}})
	}
	v, err := s.cluster.ClusterStatus(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// handleJoinCode makes a join code: it lets a box in and hands it the station's keys, so who made it
// goes into the audit log first.
func (s *Server) handleJoinCode(c *fiber.Ctx) error {
	if s.cluster == nil {
		return errNoCluster()
	}
	if err := s.recordAccess(c, "cluster:join-code", "join_code"); err != nil {
		return err
	}
	v, err := s.cluster.NewJoinCode(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(v)
}
