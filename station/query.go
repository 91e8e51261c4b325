package station

// MatterFilter selects matters from the catalog.
type MatterFilter struct {
	Query            string // searches code, name, aliases and their pinyin initials, ranked (see the store)
	Category         string
	Department       string
	IncludeWithdrawn bool
}

// CategoryCount is a catalog category with the number of active matters in it.
type CategoryCount struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// ApplicationFilter selects applications. Today is the day deadline filters are evaluated on.
type ApplicationFilter struct {
	Status     Status
	MatterCode string
	Deadline   DeadlineState // DeadlineDueSoon or DeadlineOverdue; open applications only
	Query      string        // prefix of the application number
	Applicant  string        // lookup hash (SealedID.Index) of the applicant's document number
	Today      Date
	Offset     int
	Limit      int
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Actor  string
	Action string
	Object string
	Offset int
	Limit  int
}

// Stats are the station's figures for applications.
type Stats struct {
	Open            int     `json:"open"`
	Overdue         int     `json:"overdue"`
	DueSoon         int     `json:"due_soon"`
	Completed       int     `json:"completed"`         // completed with a due date
	CompletedOnTime int     `json:"completed_on_time"` // of those, completed on or before the due date
	OnTimeRate      float64 `json:"on_time_rate"`      // CompletedOnTime / Completed; 1 when none completed
}
