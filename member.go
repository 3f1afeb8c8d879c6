package orchard

import (
	"net"
	"strconv"
	"time"
)

// Member is one backend of a balancer pool: a web node, reached for traffic
// at Addr and checked for health (and the releases it holds) at HealthAddr.
type Member struct {
	Name       string // node name, unique in its pool
	Addr       string // traffic address, "host:port"
	HealthAddr string // control address serving HealthPath; "" = no active checks
	Weight     int    // share of requests relative to the pool's other members, 1-100
	Standby    bool   // hot standby: used only when no other member is usable
}

// Member states as the balancer reports them.
const (
	MemberOK       = "ok"       // taking requests
	MemberDisabled = "disabled" // switched off by an operator
	MemberDraining = "draining" // no new requests, in-flight ones finish
	MemberError    = "error"    // failed its health checks or requests
	MemberStandby  = "standby"  // healthy hot standby, not in use
)

// MaxMemberWeight is the largest weight a member may have.
const MaxMemberWeight = 100

// Validate checks a member's name, addresses and weight and returns an
// EINVALID *Error naming the first problem.
func (m *Member) Validate() error {
	if m.Name == "" || len(m.Name) > 64 {
		return Errorf(EINVALID, "Member name must be 1-64 characters.")
	}
	for i := 0; i < len(m.Name); i++ {
		c := m.Name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Errorf(EINVALID, "Member name %q may hold only letters, digits, '-', '_' and '.'.", m.Name)
		}
	}
	if err := validHostPort(m.Addr); err != nil {
		return Errorf(EINVALID, "Member %s: address %q: %s.", m.Name, m.Addr, err.Error())
	}
	if m.HealthAddr != "" {
		if err := validHostPort(m.HealthAddr); err != nil {
			return Errorf(EINVALID, "Member %s: health address %q: %s.", m.Name, m.HealthAddr, err.Error())
		}
	}
	if m.Weight < 1 || m.Weight > MaxMemberWeight {
		return Errorf(EINVALID, "Member %s: weight must be between 1 and %d.", m.Name, MaxMemberWeight)
	}
	return nil
}

func validHostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return hostError("it is not host:port")
	}
	if host == "" {
		return hostError("the host is empty")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return hostError("the port is not 1-65535")
	}
	return nil
}

// MembersPath is the signed control endpoint on a balancer's control
// listener for the operator's member settings: GET answers the balancer's
// []MemberSetting; POST MembersPath/{pool}/{member} with a MemberAction
// applies and persists it there (and only there: the sender reaches every
// balancer of the tier itself).
const MembersPath = "/_orchard/v1/members"

// Manager actions on a member.
const (
	ActionEnable  = "enable"
	ActionDisable = "disable"
	ActionDrain   = "drain"
	ActionWeight  = "weight"
)

// MemberAction is an operator's change to one member, as sent between
// balancers.
type MemberAction struct {
	Action string    `json:"action"`           // ActionEnable, ActionDisable, ActionDrain or ActionWeight
	Weight int       `json:"weight,omitempty"` // for ActionWeight, 1-MaxMemberWeight
	At     time.Time `json:"at"`               // when the operator asked; the newest action wins across balancers
}

// MemberSetting is one balancer's view of one member: what operators set
// and the state it is in now.
type MemberSetting struct {
	Pool    string    `json:"pool"`
	Member  string    `json:"member"`
	Admin   string    `json:"admin"`            // MemberOK, MemberDisabled or MemberDraining: what an operator set
	State   string    `json:"state"`            // MemberOK, MemberError, ...: what the balancer does now
	Weight  int       `json:"weight"`           // effective weight
	Set     int       `json:"set_weight"`       // weight an operator set; 0 = as configured
	Changed time.Time `json:"changed,omitzero"` // time of the newest operator action; zero = none
}
