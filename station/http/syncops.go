package http

// syncRoutes lists the routes about the station's sync with the data center (status, dead letters).
func syncRoutes() []route {
	return nil
}
