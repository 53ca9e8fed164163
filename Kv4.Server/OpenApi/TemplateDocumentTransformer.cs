using System.Text.Json.Nodes;
using Kv4.Server.Hosting;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Kv4.Server.OpenApi;

/// <summary>
/// Describes the uniform template in /openapi/v1.json: the endpoint is one catch-all route, so the transformer
/// writes its operations (GET/PUT/POST/DELETE on `/_{service}/{path}`), the query parameters of the contract,
/// the envelope, and one tag per registered service.
/// </summary>
public sealed class TemplateDocumentTransformer(EngineLifetime engine) : IOpenApiDocumentTransformer
{
    private static readonly (string Name, string Description)[] QueryParameters =
    [
        ("k", "the key of one entry"),
        ("k2", "look the entry up by its secondary key k2 (also k3, k4)"),
        ("time_series", "1: the history, newest first"),
        ("gs", "group start: UTC calendar prefix Y:M:D:h:m:s"),
        ("ge", "group end: UTC calendar prefix Y:M:D:h:m:s"),
        ("format", "full: history entries as objects {t, by, op, v, _ver_}"),
        ("depth", "_ns and _ds: how many segments below the path to list"),
        ("l", "_ds: the layer"),
        ("limit", "listings and time series: the page size, 1..10000"),
        ("cursor", "listings and time series: the next page, as the previous reply's \"next\" gave it"),
        ("expire", "_token: seconds until the token expires"),
        ("type", "_host: signal or turn"),
    ];

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "Kv4";
        document.Info.Description =
            "A four-dimensional time-series key/value store. Every service is reached through one template, "
            + "METHOD /_<service>/<path>?query, with JSON bodies and the reply envelope {\"s\":\"ok\",\"v\":...} or "
            + "{\"s\":\"error\",\"v\":\"<code>\"}. Credentials: HTTP Basic (see docs/api.md) or a Bearer JWT.";
        document.Paths ??= new OpenApiPaths();
        // Each tag is read off the service's declaration, the one place that says what it is.
        var declarations = engine.Runtime?.Catalog.Services.Select(s => s.Declaration).OrderBy(d => d.Name, StringComparer.Ordinal).ToArray() ?? [];
        var names = declarations.Select(d => d.Name).ToArray();
        document.Tags ??= new HashSet<OpenApiTag>();
        foreach (var d in declarations)
            document.Tags.Add(new OpenApiTag
            {
                Name = "_" + d.Name,
                Description = $"/_{d.Name}/<path>: {d.Summary}" + (d.Layer is null ? "" : $" (layer {d.Layer}{(d.Watchable ? ", watchable with ?watch=1" : "")})"),
            });

        document.Paths["/_{service}"] = PathItem(document, withPath: false, names);
        document.Paths["/_{service}/{path}"] = PathItem(document, withPath: true, names);
        return Task.CompletedTask;
    }

    private static OpenApiPathItem PathItem(OpenApiDocument document, bool withPath, string[] serviceNames)
    {
        var item = new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation>() };
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Post, HttpMethod.Delete })
        {
            var operation = new OpenApiOperation
            {
                Summary = $"{method.Method} on a service's layer" + (withPath ? " at a path" : " at the root"),
                Parameters = [],
                Responses = new OpenApiResponses
                {
                    ["200"] = Envelope("success: {\"s\":\"ok\",\"v\":...}"),
                    ["4XX"] = Envelope("an error code of http-api.md §3 Replies and errors (HTTP 200 with Kv4:Api:ErrorsAsOk)"),
                    ["503"] = Envelope("unavailable or no_service_host"),
                },
                Tags = new HashSet<OpenApiTagReference>(serviceNames.Select(n => new OpenApiTagReference("_" + n, document))),
            };
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = "service", In = ParameterLocation.Path, Required = true,
                Description = "the service prefix without its underscore",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = serviceNames.Select(n => (JsonNode)JsonValue.Create(n)).ToList() },
            });
            if (withPath)
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = "path", In = ParameterLocation.Path, Required = true,
                    Description = "'/'-separated segments (any number); no empty, '.' or '..' segment",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            foreach (var (name, description) in QueryParameters)
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = name, In = ParameterLocation.Query, Description = description,
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            if (method == HttpMethod.Put || method == HttpMethod.Post)
                operation.RequestBody = new OpenApiRequestBody
                {
                    Description = "{\"k\":KEY,\"v\":VALUE[,\"k2\":..][,\"_ver_\":..]}",
                    Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.Object } } },
                };
            item.Operations[method] = operation;
        }
        return item;
    }

    private static OpenApiResponse Envelope(string description) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/json"] = new()
            {
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Required = new HashSet<string> { "s" },
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["s"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("ok"), JsonValue.Create("error")] },
                        ["v"] = new OpenApiSchema { Description = "the value, or the error code" },
                    },
                },
            },
        },
    };
}
