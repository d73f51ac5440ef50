/*
** Named fault points, compiled in only with FAULTS=1 (STYLE habit 11).
**
**     if (FAULT("sf.write.eio")) { errno = EIO; return -1; }
**
** In a normal build FAULT(name) is the constant 0 and the branch vanishes:
** nothing of this ships.  In a FAULTS=1 build the points are armed from the
** environment variable HASVC_FAULTS (read on first use) or fault_configure():
**
**     HASVC_FAULTS="name[:after=N][:repeat=M][,name...]"
**
** A point fires on its (N+1)th and following hits, M times in all (M=0, the
** default, means every time from then on).
*/
#ifndef HASVC_LIB_FAULT_H
#define HASVC_LIB_FAULT_H

#ifdef HASVC_FAULTS
int fault_hit(const char *name);
/* Replace the armed set with `spec` (syntax above); -1 on a syntax error. */
int fault_configure(const char *spec);
/* How many times point `name` has fired. */
unsigned fault_fired(const char *name);
#define FAULT(name) fault_hit(name)
#else
#define FAULT(name) 0
#endif

#endif
