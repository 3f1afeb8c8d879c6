// Package auth hashes and checks admin passwords and makes random ones.
//
// New hashes are argon2id in the PHC string format
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", base64 without padding);
// bcrypt hashes ("$2a$", "$2b$", "$2y$") from older systems are still
// accepted by CheckPassword. Parameters read from a stored hash are bounded,
// so a hostile hash (say, from an imported file) cannot make a check take
// minutes or gigabytes.
package auth
