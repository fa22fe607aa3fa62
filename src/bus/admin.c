/* src/bus/admin.c — backends' administration commands (admin.h).
 *
 * The command goes to the producing backend when it offers it, else to the first registered
 * backend that does (a registry command works from settings that produce elsewhere). The core
 * knows no command: names, arguments and results are the backend's (its admin slots).
 */
#include <stdlib.h>
#include <string.h>

#include "bus_int.h"
#include "edxbus/admin.h"
#include "edxbus/backend.h"

struct edxbus_admin {
    const struct edxbus_backend_ops *ops;
    void *adm;
};

static bool offers(const struct edxbus_backend_ops *ops, const char *command)
{
    if (ops == NULL || ops->abi_version < 2 || ops->admin_open == NULL || ops->admin_run == NULL)
        return false;
    for (const char *const *c = ops->admin_commands; c != NULL && *c != NULL; c++)
        if (strcmp(*c, command) == 0)
            return true;
    return false;
}

edxbus_err_t edxbus_admin_open(const edxbus_conf_t *conf, const char *command,
                               edxbus_admin_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    char err[EDXBUS_ERRSTR_SIZE];
    const struct edxbus_backend_ops *ops =
        edxbus_backend_for(conf, EDXBUS_PRODUCE, NULL, err, sizeof err);
    for (size_t i = 0; !offers(ops, command); i++) {
        ops = edxbus_backend_at(i);
        if (ops == NULL) {
            edxbus__errf(errstr, errstr_size, "no backend offers the command \"%s\"", command);
            return EDXBUS_ERR_UNSUPPORTED;
        }
    }
    edxbus_admin_t *a = calloc(1, sizeof *a);
    if (a == NULL) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    a->ops = ops;
    edxbus_err_t e = ops->admin_open(conf, &a->adm, errstr, errstr_size);
    if (e != EDXBUS_OK) {
        free(a);
        return e;
    }
    *out = a;
    return EDXBUS_OK;
}

edxbus_err_t edxbus_admin_run(edxbus_admin_t *adm, const char *command, const json_t *args,
                              json_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (!offers(adm->ops, command)) {
        edxbus__errf(errstr, errstr_size, "backend %s has no command \"%s\"", adm->ops->name,
                     command);
        return EDXBUS_ERR_UNSUPPORTED;
    }
    return adm->ops->admin_run(adm->adm, command, args, out, errstr, errstr_size);
}

void edxbus_admin_close(edxbus_admin_t *adm)
{
    if (adm == NULL)
        return;
    if (adm->ops->admin_close != NULL)
        adm->ops->admin_close(adm->adm);
    free(adm);
}
