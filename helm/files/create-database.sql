-- One service's database and its own login role; safe to run again (the Job runs it at every release).
-- psql variables: name (database), owner (role); the password comes from the environment variable
-- named by the variable password_env, so it never appears on a command line.
\set ON_ERROR_STOP on
\getenv password :password_env
SELECT format('CREATE ROLE %I LOGIN', :'owner')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
ALTER ROLE :"owner" WITH LOGIN PASSWORD :'password';
-- A managed server's admin is no superuser: it must be a member of a role to create a database it owns.
SELECT format('GRANT %I TO CURRENT_USER', :'owner')
 WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = CURRENT_USER)
   AND NOT pg_has_role(CURRENT_USER, :'owner', 'MEMBER') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'owner')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
ALTER DATABASE :"name" OWNER TO :"owner";
-- Only the owner connects: no service reads another's database.
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
