-- Run once by the postgres image when its data volume is empty: one database per service, owned by the
-- compose stack's user (POSTGRES_USER). In Kubernetes the databases are the operator's (see README.md).
CREATE DATABASE registry;
CREATE DATABASE certification;
CREATE DATABASE traceability;
