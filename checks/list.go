package checks

// All is every check, sorted by ID. Adding a check means adding it here,
// in its own file, with test cases under testdata/checks/ID/.
func All() []*Check {
	return []*Check{
		LBD001,
		LBD002,
		LBD003,
		LBD004,
		LBD101,
		LBD102,
		LBD103,
		LBD104,
		LBD105,
		LBD201,
		LBD202,
		LBD203,
		LBD301,
		LBD302,
		LBD303,
		LBD304,
		LBD305,
		LBD401,
		LBD402,
		LBD403,
		LBD404,
		LBD405,
		LBD501,
		LBD502,
		LBD503,
		LBD504,
	}
}

// ByID finds a check by its ID.
func ByID(id string) *Check {
	for _, c := range All() {
		if c.ID == id {
			return c
		}
	}
	return nil
}
