from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .access import get_document_for_user
from .forms import DocumentReplaceForm, DocumentUploadForm
from .selectors import documents_visible_to
from .services import DocumentError, document_replace, document_upload


def _current_organisation(request):
    membership = getattr(request, "membership", None)
    if not membership:
        raise PermissionDenied(_("Non hai abilitazioni attive per caricare documenti."))
    return membership.organisation


def _render_detail(request, document, *, replace_form=None):
    return render(
        request,
        "documents/detail.html",
        {
            "document": document,
            "versions": document.versions.select_related("uploaded_by").order_by("-number"),
            "replace_form": replace_form or DocumentReplaceForm(),
        },
    )


@login_required
def document_list(request):
    organisation = _current_organisation(request)
    documents = documents_visible_to(request.user, organisation=organisation)[:100]
    return render(
        request,
        "documents/list.html",
        {"documents": documents, "organisation": organisation},
    )


@login_required
def document_upload_view(request):
    organisation = _current_organisation(request)
    form = DocumentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = document_upload(
                user=request.user,
                organisation=organisation,
                use=form.cleaned_data["use"],
                title=form.cleaned_data["title"],
                uploaded_file=form.cleaned_data["file"],
            )
        except DocumentError as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(request, _("Documento caricato: %(name)s.") % {"name": version})
            return redirect("documents:detail", uuid=version.document.uuid)
    return render(request, "documents/upload.html", {"form": form, "organisation": organisation})


@login_required
def document_detail(request, uuid):
    document = get_document_for_user(request.user, uuid=uuid)
    return _render_detail(request, document)


@login_required
@require_POST
def version_upload(request, uuid):
    document = get_document_for_user(request.user, uuid=uuid)
    form = DocumentReplaceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            version = document_replace(
                user=request.user, document=document, uploaded_file=form.cleaned_data["file"]
            )
        except DocumentError as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(
                request, _("Nuova versione caricata: v%(number)d.") % {"number": version.number}
            )
            return redirect("documents:detail", uuid=document.uuid)
    return _render_detail(request, document, replace_form=form)


@login_required
def version_download(request, uuid, number):
    document = get_document_for_user(request.user, uuid=uuid)
    version = document.versions.filter(number=number).first()
    if version is None:
        raise Http404
    return FileResponse(
        version.file.open("rb"),
        as_attachment=True,
        filename=version.original_name,
        content_type=version.content_type,
    )
