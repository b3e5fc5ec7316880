-- Two indexes no query reads: domains by registrar and name servers by host. Each cost an index
-- entry per row on every write (3 of the 7 B-tree entries a delegation with two name servers
-- wrote), most of a zone import's index work.
DROP INDEX domains_registrar;
DROP INDEX domain_ns_host;
