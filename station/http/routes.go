package http

import (
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// Role sets used by the route table.
var (
	counterRoles = []station.Role{station.RoleStaff, station.RoleReviewer, station.RoleStationAdmin}
	adminRoles   = []station.Role{station.RoleStationAdmin}
	// revealRoles may see a resident's full document number (GET /api/v1/residents/{id}?reveal=1).
	revealRoles = []station.Role{station.RoleReviewer, station.RoleStationAdmin}
)

// route is one entry of the route table, which drives registration, role checks and the OpenAPI
// document alike.
type route struct {
	method  string
	path    string // Fiber syntax: /api/v1/residents/:id
	summary string
	tag     string
	public  bool           // no session needed
	roles   []station.Role // with public false: the roles allowed; nil means any signed-in account
	query   []queryParam   // documented query parameters
	body    any            // request body type, for the document; nil when there is none
	reply   any            // response body type; nil for 204 or non-JSON bodies
	status  int            // success status
	handle  func(*Server, *fiber.Ctx) error
}

type queryParam struct {
	name, description string
}

// routeTable lists every API and operational route: the core ones here, the certificate, sync, setup
// (HTTPS), first-run setup and queue groups in their own files.
func routeTable() []route {
	return slices.Concat(coreRoutes(), certRoutes(), syncRoutes(), setupRoutes(), clusterRoutes(), firstRunRoutes(), queueRoutes())
}

// coreRoutes lists the sessions, catalog, residents, applications, devices and operations routes.
func coreRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/sessions", summary: "登录", tag: "sessions", public: true,
			body: loginRequest{}, reply: loginResponse{}, status: 201, handle: (*Server).handleLogin},
		{method: "GET", path: "/api/v1/sessions/current", summary: "当前登录信息", tag: "sessions",
			reply: currentSession{}, status: 200, handle: (*Server).handleCurrentSession},
		{method: "GET", path: "/api/v1/sessions/status", summary: "是否已登录（未登录也答 200）", tag: "sessions", public: true,
			reply: sessionStatus{}, status: 200, handle: (*Server).handleSessionStatus},
		{method: "DELETE", path: "/api/v1/sessions/current", summary: "退出登录", tag: "sessions",
			status: 204, handle: (*Server).handleLogout},

		{method: "GET", path: "/api/v1/catalog/categories", summary: "事项分类", tag: "catalog", public: true,
			reply: []station.CategoryCount{}, status: 200, handle: (*Server).handleCategories},
		{method: "GET", path: "/api/v1/catalog/matters", summary: "搜索事项", tag: "catalog", public: true,
			query: []queryParam{{"q", "名称、别名（如“低保”）、编码或它们的拼音首字母"}, {"category", "分类"}, {"department", "部门"}},
			reply: matterList{}, status: 200, handle: (*Server).handleMatters},
		{method: "GET", path: "/api/v1/catalog/matters/:code", summary: "事项详情", tag: "catalog", public: true,
			reply: station.Matter{}, status: 200, handle: (*Server).handleMatter},

		{method: "POST", path: "/api/v1/progress", summary: "办件进度查询", tag: "progress", public: true,
			body: progressRequest{}, reply: progressView{}, status: 200, handle: (*Server).handleProgress},

		{method: "POST", path: "/api/v1/residents/lookup", summary: "按证件查找居民", tag: "residents", roles: counterRoles,
			body: residentLookup{}, reply: residentView{}, status: 200, handle: (*Server).handleResidentLookup},
		{method: "GET", path: "/api/v1/residents/:id", summary: "居民详情（reveal=1 显示完整证件号码）", tag: "residents", roles: counterRoles,
			query: []queryParam{{"reveal", "1 显示完整证件号码（审核人员、站点管理员）"}},
			reply: residentView{}, status: 200, handle: (*Server).handleResident},
		{method: "POST", path: "/api/v1/residents", summary: "新增或更新居民", tag: "residents", roles: counterRoles,
			body: residentInput{}, reply: residentView{}, status: 201, handle: (*Server).handleResidentUpsert},

		{method: "POST", path: "/api/v1/applications", summary: "受理", tag: "applications", roles: counterRoles,
			body: intakeRequest{}, reply: applicationView{}, status: 201, handle: (*Server).handleIntake},
		{method: "GET", path: "/api/v1/applications", summary: "办件列表", tag: "applications", roles: counterRoles,
			query: []queryParam{{"status", "状态"}, {"matter", "事项编码"}, {"deadline", "overdue 或 due_soon"},
				{"q", "办件编号前缀"}, {"page", "页码，1至100000"}, {"per_page", "每页条数，1至100，默认20"}},
			reply: applicationList{}, status: 200, handle: (*Server).handleApplications},
		{method: "GET", path: "/api/v1/applications/:id", summary: "办件详情", tag: "applications", roles: counterRoles,
			reply: applicationView{}, status: 200, handle: (*Server).handleApplication},
		{method: "POST", path: "/api/v1/applications/:id/transitions", summary: "办件流转", tag: "applications", roles: counterRoles,
			body: transitionRequest{}, reply: applicationView{}, status: 200, handle: (*Server).handleTransition},
		{method: "PUT", path: "/api/v1/applications/:id/materials", summary: "更新材料清单", tag: "applications", roles: counterRoles,
			body: materialsRequest{}, reply: applicationView{}, status: 200, handle: (*Server).handleMaterials},
		{method: "POST", path: "/api/v1/scans/pages", summary: "高拍仪拍摄并处理一页材料", tag: "applications", roles: counterRoles,
			reply: scannedPageView{}, status: 201, handle: (*Server).handleScanPage},
		{method: "POST", path: "/api/v1/applications/:id/materials/:code/scan", summary: "将扫描页合成PDF并作为材料附上", tag: "applications", roles: counterRoles,
			body: scanAttachRequest{}, reply: applicationView{}, status: 200, handle: (*Server).handleScanAttach},
		{method: "GET", path: "/api/v1/blobs/:sha", summary: "查看扫描页或材料文件（审计）", tag: "applications", roles: counterRoles,
			status: 200, handle: (*Server).handleBlob},
		{method: "GET", path: "/api/v1/stats", summary: "办件统计", tag: "applications", roles: counterRoles,
			reply: station.Stats{}, status: 200, handle: (*Server).handleStats},

		{method: "GET", path: "/api/v1/users", summary: "账号列表", tag: "users", roles: adminRoles,
			reply: userList{}, status: 200, handle: (*Server).handleUsers},
		{method: "POST", path: "/api/v1/users", summary: "新建账号", tag: "users", roles: adminRoles,
			body: userCreateRequest{}, reply: userView{}, status: 201, handle: (*Server).handleUserCreate},
		{method: "PATCH", path: "/api/v1/users/:username", summary: "修改账号", tag: "users", roles: adminRoles,
			body: userUpdateRequest{}, reply: userView{}, status: 200, handle: (*Server).handleUserUpdate},

		{method: "GET", path: "/api/v1/audit", summary: "审计日志", tag: "audit", roles: adminRoles,
			query: []queryParam{{"actor", "操作人"}, {"action", "操作"}, {"object", "对象"}, {"page", "页码，1至100000"}, {"per_page", "每页条数，1至100，默认20"}},
			reply: auditList{}, status: 200, handle: (*Server).handleAudit},
		{method: "GET", path: "/api/v1/audit/verify", summary: "校验审计日志哈希链", tag: "audit", roles: adminRoles,
			reply: station.AuditReport{}, status: 200, handle: (*Server).handleAuditVerify},

		{method: "GET", path: "/api/v1/devices", summary: "设备状态", tag: "devices", roles: techRoles,
			reply: deviceList{}, status: 200, handle: (*Server).handleDevices},
		{method: "GET", path: "/api/v1/devices/events", summary: "设备事件流（SSE）", tag: "devices", roles: techRoles,
			status: 200, handle: (*Server).handleDeviceEvents},
		{method: "POST", path: "/api/v1/devices/idreader/read", summary: "读取身份证（柜台）", tag: "devices", roles: cardRoles,
			reply: cardView{}, status: 200, handle: (*Server).handleReadCard},
		{method: "POST", path: "/api/v1/devices/ticket-printer/test", summary: "打印测试小票", tag: "devices", roles: techRoles,
			reply: deviceResult{}, status: 200, handle: (*Server).handleTestTicket},
		{method: "POST", path: "/api/v1/devices/document-printer/test", summary: "打印A4测试页", tag: "devices", roles: techRoles,
			reply: deviceResult{}, status: 200, handle: (*Server).handleTestPage},
		{method: "POST", path: "/api/v1/devices/camera/still", summary: "高拍仪拍摄一帧", tag: "devices", roles: cardRoles,
			status: 200, handle: (*Server).handleCameraStill},
		{method: "GET", path: "/api/v1/devices/camera/preview", summary: "高拍仪实时预览（MJPEG）", tag: "devices", roles: cardRoles,
			status: 200, handle: (*Server).handleCameraPreview},
		{method: "GET", path: "/api/v1/kiosk/card", summary: "读卡区当前证件（仅限本机）", tag: "kiosk", public: true,
			reply: kioskCardState{}, status: 200, handle: (*Server).handleKioskCard},
		{method: "GET", path: "/api/v1/kiosk/applications", summary: "读卡居民本人的办件（仅限本机）", tag: "kiosk", public: true,
			reply: kioskApplications{}, status: 200, handle: (*Server).handleKioskApplications},
		{method: "GET", path: "/api/v1/kiosk/events", summary: "自助终端事件流（SSE，仅限本机）", tag: "kiosk", public: true,
			status: 200, handle: (*Server).handleKioskEvents},

		{method: "GET", path: "/api/v1/demo/cards", summary: "演示：模拟读卡器可用的证件", tag: "demo", public: true,
			reply: demoCardList{}, status: 200, handle: (*Server).handleDemoCards},
		{method: "POST", path: "/api/v1/demo/idreader/place", summary: "演示：放卡", tag: "demo", public: true,
			body: demoPlace{}, reply: deviceResult{}, status: 200, handle: (*Server).handleDemoPlace},
		{method: "POST", path: "/api/v1/demo/idreader/remove", summary: "演示：取卡", tag: "demo", public: true,
			reply: deviceResult{}, status: 200, handle: (*Server).handleDemoRemove},
		{method: "POST", path: "/api/v1/demo/ticket-printer/paper", summary: "演示：小票打印机装纸或缺纸", tag: "demo", public: true,
			body: demoPaper{}, reply: deviceResult{}, status: 200, handle: (*Server).handleDemoTicketPaper},
		{method: "POST", path: "/api/v1/demo/document-printer/paper", summary: "演示：A4打印机装纸或缺纸", tag: "demo", public: true,
			body: demoPaper{}, reply: deviceResult{}, status: 200, handle: (*Server).handleDemoDocumentPaper},
		{method: "POST", path: "/api/v1/demo/camera/next-page", summary: "演示：高拍仪下换一页", tag: "demo", public: true,
			reply: demoPage{}, status: 200, handle: (*Server).handleDemoNextPage},
		{method: "GET", path: "/api/v1/demo/ticket-printer/last.png", summary: "演示：模拟打印机最近一张小票的图像", tag: "demo", public: true,
			status: 200, handle: (*Server).handleDemoLastTicket},

		{method: "GET", path: "/api/v1/openapi.json", summary: "本接口的 OpenAPI 文档", tag: "operations", public: true,
			status: 200, handle: (*Server).handleOpenAPI},
		{method: "GET", path: "/healthz", summary: "进程存活", tag: "operations", public: true,
			status: 200, handle: (*Server).handleHealthz},
		{method: "GET", path: "/readyz", summary: "存储就绪", tag: "operations", public: true,
			status: 200, handle: (*Server).handleReadyz},
		{method: "GET", path: "/metrics", summary: "Prometheus 指标", tag: "operations", public: true,
			status: 200, handle: (*Server).handleMetrics},
	}
}

// RouteInfo describes who may call a route; tests and docs use it.
type RouteInfo struct {
	Method string
	Path   string // OpenAPI syntax: /api/v1/residents/{id}
	Public bool
	Roles  []station.Role // nil with Public false: any signed-in account
}

// Routes lists the API and operational routes with their access rules.
func Routes() []RouteInfo {
	var out []RouteInfo
	for _, r := range routeTable() {
		out = append(out, RouteInfo{Method: r.method, Path: openAPIPath(r.path), Public: r.public, Roles: slices.Clone(r.roles)})
	}
	return out
}

// Allows reports whether a signed-in account with role may call the route.
func (r RouteInfo) Allows(role station.Role) bool {
	return r.Public || r.Roles == nil || slices.Contains(r.Roles, role)
}

// openAPIPath turns /a/:id/b into /a/{id}/b.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if name, ok := strings.CutPrefix(s, ":"); ok {
			parts[i] = "{" + name + "}"
		}
	}
	return strings.Join(parts, "/")
}

// register installs the middleware, the route table and the UI routes on the Fiber app.
func (s *Server) register() {
	s.app.Use(s.securityHeaders, s.limitBody)
	for _, r := range routeTable() {
		handlers := []fiber.Handler{s.instrument(r.path)}
		if !r.public {
			handlers = append(handlers, s.authenticate, s.authorize(r.roles))
		}
		handle := r.handle
		handlers = append(handlers, func(c *fiber.Ctx) error { return handle(s, c) })
		s.app.Add(r.method, r.path, handlers...)
	}
	s.registerUI()
}

// instrument answers any error the chain returns, then records the request in the metrics. It comes
// first in every route's chain, so 401 and 403 answers are counted too.
func (s *Server) instrument(path string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if werr := s.writeError(c, err); werr != nil {
				return werr
			}
		}
		s.metrics.observeRequest(c.Method(), path, c.Response().StatusCode(), time.Since(start))
		return nil
	}
}

// securityHeaders sets the headers every response carries, and HSTS on HTTPS connections.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
	if c.Context().IsTLS() && !localhostName(string(c.Request().Host())) { // the connection itself, never a forwarded header
		h.Set("Strict-Transport-Security", HSTS)
	}
	return c.Next()
}

// limitBody refuses bodies over BodyLimit with ETOOLARGE.
func (s *Server) limitBody(c *fiber.Ctx) error {
	if c.Request().Header.ContentLength() > BodyLimit || len(c.Body()) > BodyLimit {
		return s.writeError(c, errTooLarge())
	}
	return c.Next()
}
