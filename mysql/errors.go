package mysql

import (
	"errors"

	"github.com/go-sql-driver/mysql"

	orchard "github.com/orchardhq/orchard"
)

// MySQL error numbers orchard turns into orchard errors.
const (
	errDupEntry        = 1062
	errNoSuchTable     = 1146
	errRowIsReferenced = 1451 // delete of a parent row
	errNoReferencedRow = 1452 // insert of a child row without parent
	errDataTooLong     = 1406
	errBadString       = 1366 // not valid utf8mb4
	errPacketTooLarge  = 1153
	errReadOnly        = 1290 // --read-only (MySQL, MariaDB)
	errReadOnlyMaria   = 1836
	errDeadlock        = 1213
	errLockWait        = 1205
)

func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func isRetryable(err error) bool {
	n := mysqlErrno(err)
	return n == errDeadlock
}

// mapWriteError turns the server's refusals into errors users understand;
// orchard errors pass through.
func mapWriteError(err error) error {
	if err == nil || orchard.ErrorCode(err) != orchard.EINTERNAL {
		return err
	}
	switch mysqlErrno(err) {
	case errDupEntry:
		return orchard.Errorf(orchard.ECONFLICT, "It already exists.")
	case errNoSuchTable:
		return orchard.Errorf(orchard.ENOTFOUND, "Site not found.")
	case errRowIsReferenced:
		return orchard.Errorf(orchard.ECONFLICT, "It is still in use.")
	case errNoReferencedRow:
		return orchard.Errorf(orchard.ENOTFOUND, "What it refers to does not exist.")
	case errDataTooLong:
		return orchard.Errorf(orchard.EINVALID, "A value is too long.")
	case errBadString:
		return orchard.Errorf(orchard.EINVALID, "A text value is not valid UTF-8.")
	case errReadOnly, errReadOnlyMaria:
		return orchard.Errorf(orchard.EUNAVAILABLE, "The database is read-only (a switch-over may be in progress); try again shortly.")
	case errLockWait, errDeadlock:
		return orchard.Errorf(orchard.EUNAVAILABLE, "The database is busy; try again.")
	}
	return err
}

// mapReadError turns a missing table into ENOTFOUND (a site's own table,
// before the shared tables; now only a database not yet migrated).
func mapReadError(err error) error {
	if err == nil || orchard.ErrorCode(err) != orchard.EINTERNAL {
		return err
	}
	if mysqlErrno(err) == errNoSuchTable {
		return orchard.Errorf(orchard.ENOTFOUND, "Site not found.")
	}
	return err
}
