package checks

// All is every check, sorted by ID. Adding a check means adding it here,
// in its own file, with test cases under testdata/checks/ID/.
func All() []*Check {
	return []*Check{
		LBD001,
		LBD002,
		LBD003,
		LBD004,
		LBD005,
		LBD006,
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
		LBD310,
		LBD311,
		LBD312,
		LBD313,
		LBD314,
		LBD315,
		LBD401,
		LBD402,
		LBD403,
		LBD404,
		LBD405,
		LBD410,
		LBD411,
		LBD412,
		LBD413,
		LBD420,
		LBD421,
		LBD422,
		LBD423,
		LBD424,
		LBD425,
		LBD501,
		LBD502,
		LBD503,
		LBD504,
		LBD505,
		LBD506,
		LBD507,
		LBD508,
		LBD509,
		LBD510,
		LBD511,
		LBD512,
		LBD513,
		LBD514,
		LBD520,
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
