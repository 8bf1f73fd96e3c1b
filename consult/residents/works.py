"""Works in progress as residents see them, with the photos."""

from __future__ import annotations

from flask import abort, make_response, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, public
from consult.db import get_session
from consult.labels import name_of
from consult.models import WorkStatus
from consult.residents import bp
from consult.services import phases, works
from consult.services.surveys import local_today

Page = str | tuple[str, int] | BaseResponse
#: Notes shown open under each item; older ones fold away.
SHOWN_NOTES = 3
#: A stored photo never changes: phones may keep it for a year.
PHOTO_MAX_AGE = 365 * 24 * 3600


@bp.get("/c/<code>/works", endpoint="works")
@public
def works_page(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    if not works.has_begun(place):
        return render_template(
            "residents/works.html",
            compound=place,
            begun=False,
            steps=phases.timeline(session, place),
        )
    today = local_today()
    items = works.works_items(session, place)
    notes = works.notes_of(session, items)
    return render_template(
        "residents/works.html",
        compound=place,
        begun=True,
        items=items,
        notes=notes,
        photos=works.photos_of(session, (n.id for ns in notes.values() for n in ns if n.id)),
        scopes=works.scope_labels(session, items),
        late={item.id for item in items if works.is_late(item, today)},
        done=sum(item.status == WorkStatus.DONE for item in items),
        status_names={str(s): name_of("works", s) for s in WorkStatus},
        shown=SHOWN_NOTES,
    )


@bp.get("/c/<code>/works/photos/<int(max=2147483647):photo_id>.jpg")
@public
def works_photo(code: str, photo_id: int) -> BaseResponse:
    photo = works.photo_of(get_session(), current_compound(code), photo_id)
    if photo is None:
        abort(404)
    small = request.args.get("size") == "small" and photo.thumb is not None
    response = make_response(photo.thumb if small else photo.data)
    response.mimetype = "image/jpeg"
    response.set_etag(f"photo-{photo.id}-{'small' if small else 'full'}")
    response.cache_control.public = True
    response.cache_control.max_age = PHOTO_MAX_AGE
    response.cache_control.immutable = True
    return response.make_conditional(request)
