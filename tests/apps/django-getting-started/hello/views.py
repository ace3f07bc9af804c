import json

from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from hello.models import Greeting


def index(request):
    return render(request, "hello/index.html", {"app": "django-getting-started"})


@csrf_exempt
def greetings(request):
    if request.method == "POST":
        text = json.loads(request.body)["text"]
        Greeting.objects.create(text=text)
        return JsonResponse({"text": text}, status=201)
    if request.method == "GET":
        texts = list(Greeting.objects.order_by("id").values_list("text", flat=True))
        return JsonResponse({"greetings": texts})
    return HttpResponseNotAllowed(["GET", "POST"])
